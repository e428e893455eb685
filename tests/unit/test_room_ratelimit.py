"""Sign-in rate limiting: five failures in five minutes for a name from an address or for an
address (fifty for a name from anywhere), then a wait until the oldest failure leaves the
window; attempts counted as they begin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.room.ratelimit import LoginLimiter, attempt_keys, retry_after

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def test_the_pure_decision() -> None:
    failures = [T0 + timedelta(seconds=i) for i in range(5)]
    assert (
        retry_after(failures[:4], T0 + timedelta(seconds=10), max_failures=5, window=WINDOW) is None
    )
    wait = retry_after(failures, T0 + timedelta(seconds=10), max_failures=5, window=WINDOW)
    assert wait == WINDOW - timedelta(seconds=10)
    assert retry_after(failures, T0 + WINDOW, max_failures=5, window=WINDOW) is None


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_failures_per_name_from_an_address_and_per_address() -> None:
    """Someone typing wrong passwords for alice from one address blocks that address, not
    alice herself at her own desk."""
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=clock)
    for _ in range(5):
        wait, _ = limiter.begin(attempt_keys("alice", "10.0.0.1"))
        assert wait is None
        clock.now += timedelta(seconds=1)
    assert limiter.retry_after(attempt_keys("alice", "10.0.0.1")) is not None
    assert limiter.retry_after(attempt_keys("bob", "10.0.0.1")) is not None, "address limited"
    assert limiter.retry_after(attempt_keys("alice", "10.0.0.2")) is None, "not locked out"
    clock.now = T0 + WINDOW
    assert limiter.retry_after(attempt_keys("alice", "10.0.0.1")) is None


def test_a_name_guessed_from_many_addresses_meets_a_higher_ceiling() -> None:
    limiter = LoginLimiter(max_failures=5, name_max_failures=50, window=WINDOW, clock=Clock())
    for i in range(50):
        wait, _ = limiter.begin(attempt_keys("alice", f"10.0.{i}.1"))
        assert wait is None
    assert limiter.retry_after(attempt_keys("alice", "10.9.9.9")) is not None


def test_attempts_sent_at_once_cannot_all_slip_under_the_limit() -> None:
    """Each attempt counts as it begins: the sixth is refused before any password is checked."""
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=Clock())
    keys = attempt_keys("alice", "10.0.0.1")
    begun = [limiter.begin(keys) for _ in range(6)]
    assert [wait is None for wait, _ in begun] == [True] * 5 + [False]


def test_a_success_takes_its_attempt_back_and_clears_the_name() -> None:
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=Clock())
    keys = attempt_keys("alice", "10.0.0.1")
    for _ in range(4):
        limiter.begin(keys)
    _, at = limiter.begin(keys)
    limiter.settle(keys, at, succeeded=True)
    assert limiter.retry_after(keys) is None
    # The address keeps its four earlier failures: one more and it waits.
    limiter.begin(attempt_keys("bob", "10.0.0.1"))
    assert limiter.retry_after(attempt_keys("carol", "10.0.0.1")) is not None


def test_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=clock, max_keys=100)
    for i in range(1000):
        clock.now += timedelta(milliseconds=1)
        limiter.begin([f"user:u{i}"])
    assert len(limiter._failures) <= 100
    assert limiter.retry_after(["user:u999"]) is None  # one failure only: allowed

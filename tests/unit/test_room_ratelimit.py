"""Sign-in rate limiting: five failures in five minutes for a name or an address, then a wait
until the oldest failure leaves the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.room.ratelimit import LoginLimiter, retry_after

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


def test_failures_per_name_and_per_address() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=clock)
    for _ in range(5):
        assert limiter.retry_after(["user:alice", "addr:10.0.0.1"]) is None
        limiter.failed(["user:alice", "addr:10.0.0.1"])
        clock.now += timedelta(seconds=1)
    assert limiter.retry_after(["user:alice", "addr:10.0.0.2"]) is not None, "name limited"
    assert limiter.retry_after(["user:bob", "addr:10.0.0.1"]) is not None, "address limited"
    assert limiter.retry_after(["user:bob", "addr:10.0.0.2"]) is None
    clock.now = T0 + WINDOW
    assert limiter.retry_after(["user:alice", "addr:10.0.0.1"]) is None


def test_success_clears_the_name_not_the_address() -> None:
    limiter = LoginLimiter(max_failures=2, window=WINDOW, clock=Clock())
    limiter.failed(["user:alice", "addr:a"])
    limiter.failed(["user:alice", "addr:a"])
    limiter.succeeded("user:alice")
    assert limiter.retry_after(["user:alice"]) is None
    assert limiter.retry_after(["addr:a"]) is not None


def test_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, window=WINDOW, clock=clock, max_keys=100)
    for i in range(1000):
        clock.now += timedelta(milliseconds=1)
        limiter.failed([f"user:u{i}"])
    assert len(limiter._failures) <= 100
    assert limiter.retry_after(["user:u999"]) is None  # one failure only: allowed

"""Login rate limiting: after `max_failures` failed logins within `window`, for one user name
from one client address or for one client address, further attempts are refused until the
oldest failure leaves the window. A user name alone has a much higher ceiling
(`name_max_failures`): enough to stop a guessing campaign spread over many addresses, not so
low that anyone can lock an officer out in the middle of an incident by typing wrong passwords
for her name.

An attempt is counted when it starts (`begin`), not when its password has been checked: many
attempts sent at once cannot all slip under the limit while the (deliberately slow) checks run.

`retry_after` is the pure decision; `LoginLimiter` keeps the failures per key in memory with an
injected clock (the room runs as one process).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

__all__ = ["LoginLimiter", "attempt_keys", "retry_after"]

NAME_KEY = "user:"
USER_AT_ADDRESS_KEY = "user@addr:"


def attempt_keys(name: str, address: str) -> tuple[str, str, str]:
    """What one sign-in attempt counts against: the name from this address, the address, the
    name anywhere (the last with the higher ceiling)."""
    return (f"{USER_AT_ADDRESS_KEY}{name}@{address}", f"addr:{address}", f"{NAME_KEY}{name}")


Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def retry_after(
    failures: Sequence[datetime], now: datetime, *, max_failures: int, window: timedelta
) -> timedelta | None:
    """How long to wait before the next attempt, None if one is allowed now.

    `failures` are the times of earlier failures, oldest first."""
    recent = [t for t in failures if now - t < window]
    if len(recent) < max_failures:
        return None
    # The attempt becomes possible when enough failures have left the window.
    return recent[-max_failures] + window - now


class LoginLimiter:
    """Failed logins per key (`user:<name>`, `addr:<ip>`), thread-safe."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        name_max_failures: int = 50,
        window: timedelta = timedelta(minutes=5),
        clock: Clock = _utcnow,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.name_max_failures = name_max_failures
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _limit(self, key: str) -> int:
        return self.name_max_failures if key.startswith(NAME_KEY) else self.max_failures

    def _wait(self, keys: Iterable[str], now: datetime) -> timedelta | None:
        waits = [
            retry_after(
                self._failures.get(key, ()), now, max_failures=self._limit(key), window=self.window
            )
            for key in keys
        ]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def retry_after(self, keys: Iterable[str]) -> timedelta | None:
        """The longest wait any of `keys` imposes, None if an attempt is allowed now."""
        now = self._clock()
        with self._lock:
            return self._wait(keys, now)

    def begin(self, keys: Sequence[str]) -> tuple[timedelta | None, datetime]:
        """Check and count an attempt at once: (the wait, None if allowed; its time). An
        allowed attempt counts as a failure until `settle` says it succeeded."""
        now = self._clock()
        with self._lock:
            wait = self._wait(keys, now)
            if wait is None:
                self._record(keys, now)
            return wait, now

    def settle(self, keys: Sequence[str], at: datetime, *, succeeded: bool) -> None:
        """The attempt begun `at` is over: a success clears the failures of the name keys and
        takes this attempt back from the others (an address's earlier failures stay)."""
        if not succeeded:
            return
        with self._lock:
            for key in keys:
                if key.startswith(NAME_KEY) or key.startswith(USER_AT_ADDRESS_KEY):
                    self._failures.pop(key, None)
                elif (times := self._failures.get(key)) is not None and at in times:
                    times.remove(at)

    def _record(self, keys: Iterable[str], now: datetime) -> None:
        if len(self._failures) >= self._max_keys:
            self._forget_old(now)
        for key in keys:
            times = self._failures.setdefault(key, deque(maxlen=self._limit(key)))
            times.append(now)

    def _forget_old(self, now: datetime) -> None:
        """Bounded memory: keys out of the window go, then the oldest if still too many."""
        for key in [k for k, times in self._failures.items() if now - times[-1] >= self.window]:
            del self._failures[key]
        excess = len(self._failures) - self._max_keys + 1
        if excess > 0:
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]:
                del self._failures[key]

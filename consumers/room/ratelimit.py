"""Login rate limiting: after `max_failures` failed logins within `window`, for one user name
or one client address, further attempts are refused until the oldest failure leaves the window.

`retry_after` is the pure decision; `LoginLimiter` keeps the failures per key in memory with an
injected clock (the room runs as one process).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

__all__ = ["LoginLimiter", "retry_after"]

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
        window: timedelta = timedelta(minutes=5),
        clock: Clock = _utcnow,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> timedelta | None:
        """The longest wait any of `keys` imposes, None if an attempt is allowed now."""
        now = self._clock()
        with self._lock:
            waits = [
                retry_after(
                    self._failures.get(key, ()),
                    now,
                    max_failures=self.max_failures,
                    window=self.window,
                )
                for key in keys
            ]
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._forget_old(now)
            for key in keys:
                times = self._failures.setdefault(key, deque(maxlen=self.max_failures))
                times.append(now)

    def succeeded(self, key: str) -> None:
        """A right password clears its user name's failures (never an address's: one valid
        account must not reset the count of an address that guesses others)."""
        with self._lock:
            self._failures.pop(key, None)

    def _forget_old(self, now: datetime) -> None:
        """Bounded memory: keys out of the window go, then the oldest if still too many."""
        for key in [k for k, times in self._failures.items() if now - times[-1] >= self.window]:
            del self._failures[key]
        excess = len(self._failures) - self._max_keys + 1
        if excess > 0:
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]:
                del self._failures[key]

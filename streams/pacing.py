"""How fast the router's catch-up lane may read while live frames flow (pure: times are given).

A backlog relayed flat out saturates the broker, and on a small machine the CPU it shares:
while 5,000 frames drained at 3,500 frames/s, the cameras' own writes took up to 190 ms to be
acknowledged and live frames reached ``shared.<grantee>`` 200 ms after capture. The catch-up
lane therefore yields, as LEDBAT does on a network (RFC 6817): the signal is the delivery
latency of the live lane's frames (produce -> broker acknowledgement, the router's own clock),
compared with the least latency seen lately (the base: what the broker takes when it is not
queueing). Below ``TARGET_S`` of extra delay the catch-up rate grows, above it the rate is
halved; it never falls below ``MIN_BYTES_S``, so a backlog always drains. With no live frame
delivered for ``IDLE_S`` the lane is not paced at all: a restarted worker with nothing live to
protect catches up at full speed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = [
    "BASE_WINDOW_S",
    "IDLE_S",
    "MAX_BYTES_S",
    "MIN_BYTES_S",
    "START_BYTES_S",
    "TARGET_S",
    "CatchUpPace",
]

TARGET_S = 0.020
"""Extra delay (over the base) the live frames may take on while a backlog drains."""
BASE_WINDOW_S = 10
"""The base latency is the least one seen over these last seconds (so it follows the broker)."""
IDLE_S = 1.0
START_BYTES_S = 32 * 1024 * 1024
MIN_BYTES_S = 4 * 1024 * 1024
"""About 140 frames/s of 30 KB: a 5,000-frame backlog still drains in well under a minute."""
MAX_BYTES_S = 4 * 1024 * 1024 * 1024
"""Beyond any broker: the lane is then in effect unpaced (and the rate stays finite)."""
GROWTH_PER_S = 2.0
"""Below the target the rate grows by up to e^2 (7x) a second; faster the further below."""
CUT_EVERY_S = 0.1
"""Halved at most this often: one late burst of acknowledgements is one congestion event."""


@dataclass
class CatchUpPace:
    rate_bytes_s: float = START_BYTES_S
    _minima: deque[tuple[int, float]] = field(default_factory=deque)  # (second, least latency)
    _last_seen: float = float("-inf")
    _last_cut: float = float("-inf")

    def observe(self, latency_s: float, now: float) -> None:
        """A live frame was acknowledged `latency_s` after it was produced, at time `now`."""
        second = int(now)
        if self._minima and self._minima[-1][0] == second:
            self._minima[-1] = (second, min(self._minima[-1][1], latency_s))
        else:
            self._minima.append((second, latency_s))
        while self._minima[0][0] <= second - BASE_WINDOW_S:
            self._minima.popleft()
        excess = latency_s - min(least for _, least in self._minima)
        if excess > TARGET_S:
            if now - self._last_cut >= CUT_EVERY_S:
                self.rate_bytes_s = max(MIN_BYTES_S, self.rate_bytes_s / 2)
                self._last_cut = now
        else:
            elapsed = min(max(now - self._last_seen, 0.0), CUT_EVERY_S)
            grown = self.rate_bytes_s * (1 + GROWTH_PER_S * elapsed * (1 - excess / TARGET_S))
            self.rate_bytes_s = min(MAX_BYTES_S, grown)
        self._last_seen = now

    def paced(self, now: float) -> bool:
        """Live frames are flowing: the catch-up lane keeps to the rate."""
        return now - self._last_seen < IDLE_S

    def pause_after(self, bytes_read: int, now: float) -> float:
        """Seconds the catch-up lane waits after reading `bytes_read` (0 when not paced)."""
        return bytes_read / self.rate_bytes_s if self.paced(now) else 0.0

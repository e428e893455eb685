"""How fast the router's catch-up lane may read while live frames flow (pure: times are given).

A backlog relayed flat out saturates the broker, and on a small machine the CPU it shares:
while 5,000 frames drained at 3,500 frames/s, the cameras' own writes took up to 190 ms to be
acknowledged and live frames reached ``shared.<grantee>`` 200 ms after capture. The catch-up
lane therefore yields, as LEDBAT does on a network (RFC 6817): the signal is the delivery
latency of the live lane's frames (produce -> broker acknowledgement, the router's own clock),
compared with the least latency seen lately (the base: what the broker takes when it is not
queueing). Below ``TARGET_S`` of extra delay the catch-up rate grows, above it the rate is
halved. Pacing may slow a drain, never stop it: the rate never falls below a floor, and the
floor doubles whenever the backlog has not shrunk over ``GAINING_WINDOW_S`` (cameras that keep
writing to a catch-up partition faster than the floor). With no live frame delivered for
``IDLE_S`` the lane is not paced at all: a restarted worker with nothing live to protect catches
up at full speed. The lane reads in slices of ``SLICE_S`` at the rate, so that it never bursts
and never sits out a long pause.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = [
    "BASE_WINDOW_S",
    "CUT_EVERY_S",
    "GAINING_WINDOW_S",
    "GROWTH_PER_S",
    "IDLE_S",
    "MAX_BYTES_S",
    "MIN_BYTES_S",
    "SLICE_S",
    "START_BYTES_S",
    "TARGET_S",
    "CatchUpPace",
]

TARGET_S = 0.020
"""Extra delay (over the base) the live frames may take on while a backlog drains."""
BASE_WINDOW_S = 10
"""The base latency is the least one seen over these last seconds (so it follows the broker)."""
IDLE_S = 1.0
"""No live frame acknowledged for this long: nothing to protect, the lane is not paced."""
START_BYTES_S = 32 * 1024 * 1024
"""The rate of a lane that starts being paced (it then follows the latency)."""
MIN_BYTES_S = 4 * 1024 * 1024
"""The first floor: about 140 frames/s of 30 KB."""
MAX_BYTES_S = 4 * 1024 * 1024 * 1024
"""Beyond any broker: the lane is then in effect unpaced (and the rate stays finite)."""
GROWTH_PER_S = 2.0
"""Below the target the rate grows by up to e^2 (7x) a second; faster the further below."""
CUT_EVERY_S = 0.1
"""Halved at most this often: one late burst of acknowledgements is one congestion event."""
GAINING_WINDOW_S = 10.0
"""A backlog that has not shrunk over this long doubles the floor."""
SLICE_S = 0.020
"""A paced read takes what the rate allows in this long."""


@dataclass
class CatchUpPace:
    rate_bytes_s: float = START_BYTES_S
    floor_bytes_s: float = MIN_BYTES_S
    _minima: deque[tuple[int, float]] = field(default_factory=deque, init=False)
    """(second, least latency of that second), for the base."""
    _last_seen: float = field(default=float("-inf"), init=False)
    _last_cut: float = field(default=float("-inf"), init=False)
    _window: tuple[float, int] | None = field(default=None, init=False)
    """(since, frames behind then) of the backlog's current gaining window."""
    _next_read: float = field(default=float("-inf"), init=False)
    """When the last read's bytes have taken their time at the rate."""

    def observe(self, latency_s: float, now: float) -> None:
        """A live frame was acknowledged `latency_s` after it was produced, at time `now`."""
        second = int(now)
        if self._minima and self._minima[-1][0] == second:
            self._minima[-1] = (second, min(self._minima[-1][1], latency_s))
        else:
            self._minima.append((second, latency_s))
        while self._minima[0][0] <= second - BASE_WINDOW_S:
            self._minima.popleft()
        # Each acknowledgement counts, unfiltered (LEDBAT filters the current delay): measured
        # while a backlog drained, p99 on the shared topic 30-37 ms a round unfiltered, 37-104
        # with the least of the last 4, 49-120 with the least of the last 100 ms. The floor,
        # not a filter, keeps noise from stopping a drain.
        excess = latency_s - min(least for _, least in self._minima)
        if excess > TARGET_S:
            if now - self._last_cut >= CUT_EVERY_S:
                self.rate_bytes_s = max(self.floor_bytes_s, self.rate_bytes_s / 2)
                self._last_cut = now
        else:
            elapsed = min(max(now - self._last_seen, 0.0), CUT_EVERY_S)
            grown = self.rate_bytes_s * (1 + GROWTH_PER_S * elapsed * (1 - excess / TARGET_S))
            self.rate_bytes_s = min(MAX_BYTES_S, grown)
        self._last_seen = now

    def note_backlog(self, frames_behind: int, now: float) -> None:
        """The catch-up lane's partitions are `frames_behind` their ends (0: it has none)."""
        if frames_behind == 0:
            self.floor_bytes_s, self._window = MIN_BYTES_S, None
            return
        if self._window is None or not self.paced(now):
            self._window = (now, frames_behind)
            return
        since, behind_then = self._window
        if now - since >= GAINING_WINDOW_S:
            if frames_behind >= behind_then:  # not gaining: the cameras write faster
                self.floor_bytes_s = min(MAX_BYTES_S, self.floor_bytes_s * 2)
                self.rate_bytes_s = max(self.rate_bytes_s, self.floor_bytes_s)
            self._window = (now, frames_behind)

    def paced(self, now: float) -> bool:
        """Live frames are flowing: the catch-up lane keeps to the rate."""
        return now - self._last_seen < IDLE_S

    def ready(self, now: float) -> bool:
        """Whether the catch-up lane may read now: its last read has taken its time at the
        rate, or nothing live is left to protect (a pause never outlasts the live frames)."""
        return now >= self._next_read or not self.paced(now)

    def frames_per_read(self, mean_frame_bytes: float, most: int, now: float) -> int:
        """How many frames the next read takes: paced, what the rate allows in SLICE_S (at
        least 1); else `most`."""
        if not self.paced(now):
            return most
        allowed = self.rate_bytes_s * SLICE_S / max(mean_frame_bytes, 1.0)
        return max(1, min(most, int(allowed)))

    def read(self, bytes_read: int, now: float) -> None:
        """The catch-up lane read `bytes_read` at `now` (unpaced, it may read again at once)."""
        self._next_read = now + bytes_read / self.rate_bytes_s if self.paced(now) else now

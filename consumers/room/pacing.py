"""A live view's frame-rate cap (pure): at most one frame per interval on average, paced on the
schedule rather than on when each frame was seen, so a camera at exactly the cap keeps its
rate despite jitter, and never more than two frames go out back to back."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Pacer"]


@dataclass
class Pacer:
    interval_s: float
    """0: no cap."""
    next_at: float = 0.0

    @classmethod
    def at_most(cls, max_fps: float | None) -> Pacer:
        return cls(1.0 / max_fps if max_fps else 0.0)

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def sent(self, now: float) -> None:
        self.next_at = max(self.next_at + self.interval_s, now)

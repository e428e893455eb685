"""A camera's archive over a window, as a timeline: the chunks and the gaps between them (pure).

A gap is a stretch of the window no stored chunk covers (the camera was off, nothing moved
under a motion-only profile, or chunks were lost): an investigator must see it as a gap, not
as a seamless recording.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Span", "gaps"]

TOLERANCE = timedelta(seconds=1)
"""Chunks closer than this are contiguous (frame spacing, not a gap)."""


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime


def gaps(covered: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    """The parts of [start, end) that no span of `covered` reaches, in time order."""
    found: list[Span] = []
    cursor = start
    for span in sorted(covered, key=lambda s: s.start):
        if span.end <= cursor:
            continue
        if span.start - cursor > TOLERANCE:
            found.append(Span(cursor, min(span.start, end)))
        cursor = max(cursor, span.end)
        if cursor >= end:
            break
    if end - cursor > TOLERANCE:
        found.append(Span(cursor, end))
    return [g for g in found if g.end > g.start]

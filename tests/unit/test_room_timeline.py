"""The archive timeline shows the gaps an investigator must not mistake for recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.room.timeline import Span, gaps

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _s(a: float, b: float) -> Span:
    return Span(T0 + timedelta(seconds=a), T0 + timedelta(seconds=b))


def test_a_window_fully_covered_has_no_gap() -> None:
    assert gaps([_s(0, 10), _s(10.5, 20)], T0, T0 + timedelta(seconds=20)) == []


def test_gaps_before_between_and_after_the_chunks() -> None:
    found = gaps([_s(30, 40), _s(5, 10)], T0, T0 + timedelta(seconds=60))
    assert found == [_s(0, 5), _s(10, 30), _s(40, 60)]


def test_overlapping_parts_and_chunks_outside_the_window() -> None:
    found = gaps([_s(-30, 5), _s(3, 8), _s(7, 12), _s(100, 130)], T0, T0 + timedelta(seconds=20))
    assert found == [_s(12, 20)]


def test_no_chunk_at_all_is_one_gap() -> None:
    assert gaps([], T0, T0 + timedelta(minutes=1)) == [_s(0, 60)]

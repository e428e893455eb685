"""The router's catch-up lane yields to live frames: its rate follows the live frames' delivery
latency (streams.pacing), and a backlog always drains."""

from __future__ import annotations

import pytest

from streams.pacing import (
    BASE_WINDOW_S,
    CUT_EVERY_S,
    GAINING_WINDOW_S,
    IDLE_S,
    MAX_BYTES_S,
    MIN_BYTES_S,
    SLICE_S,
    START_BYTES_S,
    TARGET_S,
    CatchUpPace,
)

BASE = 0.006  # what the broker takes when it is not queueing


def _steady(pace: CatchUpPace, latency_s: float, start: float, seconds: float) -> float:
    """Live frames acknowledged every 10 ms with this latency; returns the time after."""
    now = start
    while now < start + seconds:
        pace.observe(latency_s, now)
        now += 0.01
    return now


def test_without_live_frames_the_catch_up_lane_is_not_paced() -> None:
    pace = CatchUpPace()
    assert not pace.paced(100.0)
    pace.read(100_000_000, 100.0)
    assert pace.ready(100.0)  # however much it just read
    assert pace.frames_per_read(30_000, 250, 100.0) == 250


def test_live_frames_pace_the_lane_until_they_stop() -> None:
    pace = CatchUpPace()
    pace.observe(BASE, 100.0)
    assert pace.paced(100.0)
    pace.read(1_000_000, 100.0)
    waits = 1_000_000 / pace.rate_bytes_s
    assert not pace.ready(100.0 + waits * 0.9)
    assert pace.ready(100.0 + waits)
    assert not pace.paced(100.0 + IDLE_S)  # nothing live to protect: full speed again


def test_a_pause_ends_when_the_live_frames_stop() -> None:
    pace = CatchUpPace(rate_bytes_s=MIN_BYTES_S)
    pace.observe(BASE, 100.0)
    pace.read(100 * MIN_BYTES_S, 100.0)  # 100 s at the rate
    assert not pace.ready(100.5)
    assert pace.ready(100.0 + IDLE_S)


def test_the_rate_grows_while_live_frames_keep_their_base_latency() -> None:
    pace = CatchUpPace()
    _steady(pace, BASE, 100.0, 0.5)
    assert pace.rate_bytes_s > 2 * START_BYTES_S


def test_the_rate_stays_finite_however_long_all_is_well() -> None:
    pace = CatchUpPace()
    _steady(pace, BASE, 100.0, 60.0)
    assert pace.rate_bytes_s == MAX_BYTES_S


def test_late_acknowledgements_halve_the_rate_at_once_and_once_per_event() -> None:
    pace = CatchUpPace()
    now = _steady(pace, BASE, 100.0, 0.2)
    before = pace.rate_bytes_s
    late = BASE + TARGET_S + 0.010
    pace.observe(late, now)
    assert pace.rate_bytes_s == pytest.approx(before / 2)
    now = _steady(pace, late, now + 0.01, CUT_EVERY_S - 0.02)  # the same event
    assert pace.rate_bytes_s == pytest.approx(before / 2)
    pace.observe(late, now + 0.02)  # still late a moment later: halved again
    assert pace.rate_bytes_s == pytest.approx(before / 4)


def test_latency_within_the_target_does_not_cut() -> None:
    pace = CatchUpPace()
    now = _steady(pace, BASE, 100.0, 0.2)
    before = pace.rate_bytes_s
    _steady(pace, BASE + TARGET_S * 0.9, now, 0.2)
    assert pace.rate_bytes_s >= before


def test_a_backlog_always_drains_however_late_the_live_frames() -> None:
    pace = CatchUpPace()
    pace.observe(BASE, 100.0)
    _steady(pace, 0.500, 100.01, BASE_WINDOW_S / 2)
    assert pace.rate_bytes_s == MIN_BYTES_S
    # 5,000 frames of 30 KB then wait at most this long in all
    pace.read(5_000 * 30_000, 105.0)
    assert pace.ready(105.0 + 40)


def test_a_lasting_change_of_the_broker_becomes_the_new_base() -> None:
    """A broker that is slower for good (another load, another host) is not a congestion the
    catch-up lane causes: once the old minima are out of the window it grows again."""
    pace = CatchUpPace()
    now = _steady(pace, BASE, 100.0, 1.0)
    slower = BASE + 3 * TARGET_S
    now = _steady(pace, slower, now, BASE_WINDOW_S + 1.0)
    assert pace.rate_bytes_s > MIN_BYTES_S
    cut = pace.rate_bytes_s
    _steady(pace, slower, now, 0.5)
    assert pace.rate_bytes_s > cut


def test_a_backlog_that_does_not_shrink_raises_the_floor_until_it_is_drained() -> None:
    """Cameras writing to a catch-up partition faster than the floor: pacing may slow the drain,
    never stop it."""
    pace = CatchUpPace()
    now = _steady(pace, BASE, 100.0, 0.2)
    now = _steady(pace, 0.500, now, 1.0)  # live frames late: the rate goes to the floor
    assert pace.rate_bytes_s == MIN_BYTES_S
    for _ in range(3):  # 30 s without gaining
        pace.note_backlog(5_000, now)
        now = _steady(pace, 0.500, now, GAINING_WINDOW_S)
    pace.note_backlog(5_000, now)
    assert pace.floor_bytes_s == 8 * MIN_BYTES_S
    assert pace.rate_bytes_s >= pace.floor_bytes_s
    pace.note_backlog(0, now)  # drained: the next backlog starts from the first floor
    assert pace.floor_bytes_s == MIN_BYTES_S


def test_a_shrinking_backlog_keeps_the_floor() -> None:
    pace = CatchUpPace()
    now = _steady(pace, BASE, 100.0, 0.2)
    for behind in (5_000, 4_000, 3_000):
        pace.note_backlog(behind, now)
        now = _steady(pace, 0.500, now, GAINING_WINDOW_S)
    assert pace.floor_bytes_s == MIN_BYTES_S


def test_a_paced_read_takes_a_slice_of_the_rate() -> None:
    pace = CatchUpPace()
    pace.observe(BASE, 100.0)
    assert pace.frames_per_read(30_000, 250, 100.0) == int(pace.rate_bytes_s * SLICE_S / 30_000)
    assert pace.frames_per_read(10_000_000, 250, 100.0) == 1  # a huge frame still goes
    assert pace.frames_per_read(1, 250, 100.0) == 250

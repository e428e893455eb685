"""A live view's frame-rate cap: a camera faster than the cap is thinned to it; one at exactly
the cap keeps its rate despite jitter; no cap lets every frame through."""

from __future__ import annotations

from consumers.room.pacing import Pacer


def _sent(pacer: Pacer, arrivals: list[float]) -> int:
    count = 0
    for now in arrivals:
        if pacer.due(now):
            pacer.sent(now)
            count += 1
    return count


def test_a_faster_camera_is_thinned_to_the_cap() -> None:
    arrivals = [i * 0.04 for i in range(250)]  # 25 fps for 10 s
    assert 49 <= _sent(Pacer.at_most(5), arrivals) <= 51


def test_a_camera_at_the_cap_keeps_its_rate_despite_jitter() -> None:
    jitter = [0.0, 0.03, -0.03, 0.01, -0.01]
    arrivals = [i * 0.2 + jitter[i % 5] + 0.03 for i in range(50)]  # 5 fps, +-30 ms
    assert _sent(Pacer.at_most(5), arrivals) >= 48


def test_no_cap_lets_every_frame_through() -> None:
    assert _sent(Pacer.at_most(None), [i * 0.01 for i in range(100)]) == 100

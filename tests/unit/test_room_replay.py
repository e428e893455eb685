"""Replaying an MJPEG archive chunk in the browser: its JPEGs come back byte for byte at their
times (no re-encoding), a scrub starts from the frame showing at that moment, and anything
that is not an MJPEG chunk is refused with a reason rather than a crash."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from consumers.archive.matroska import mjpeg_matroska
from consumers.room.replay import ReplayFrame, UnreadableChunk, jpeg_frames, schedule


def _jpegs(count: int) -> list[bytes]:
    rng = np.random.default_rng(3)
    return [
        cv2.imencode(".jpg", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()
        for _ in range(count)
    ]


def test_the_chunk_s_jpegs_come_back_as_they_were_at_their_times() -> None:
    jpegs = _jpegs(6)
    pts = [0, 200, 400, 650, 800, 1000]
    frames = jpeg_frames(mjpeg_matroska(jpegs, pts, 64, 48, frame_duration_ms=200))
    assert [f.jpeg for f in frames] == jpegs
    assert [f.pts_ms for f in frames] == pts


def test_a_scrub_starts_with_the_frame_showing_then_keeps_the_pace() -> None:
    frames = [ReplayFrame(ms, bytes([i])) for i, ms in enumerate((0, 200, 400, 600))]
    plan = schedule(frames, 300)
    assert [f.pts_ms for _, f in plan] == [200, 400, 600]
    assert [round(at, 3) for at, _ in plan] == [0.0, 0.1, 0.3]
    assert [at for at, _ in schedule(frames, 0)] == [0.0, 0.2, 0.4, 0.6]
    assert [f.pts_ms for _, f in schedule(frames, 10_000)] == [600]
    assert schedule([], 0) == []


def test_what_is_not_an_mjpeg_chunk_is_refused_with_a_reason() -> None:
    with pytest.raises(UnreadableChunk, match="cannot be read"):
        jpeg_frames(b"not a video at all")

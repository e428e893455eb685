"""The adapter's frame path: profile size, masks blacked out before encoding, sequence numbers,
and the motion events a moving scene causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from producers.frames import FrameProcessor
from producers.sequence import SequenceStore
from producers.sources.synthetic import SyntheticScene
from schemas.config import Camera, CameraProfile, Position, PrivacyMask, SourceKind
from schemas.records import CameraEventKind

PROFILE = CameraProfile(
    name="sd", width=640, height=360, max_fps=5, motion_threshold=0.02, motion_min_frames=3
)
LEFT_THIRD = PrivacyMask(name="windows", polygon=[(0, 0), (0.33, 0), (0.33, 1), (0, 1)])


def _camera(masks: list[PrivacyMask]) -> Camera:
    return Camera(
        id="cam-1",
        operator="police-x",
        name="Test",
        position=Position(lat=50.85, lon=4.35),
        zone="centre",
        source_kind=SourceKind.SYNTHETIC,
        source="synthetic://square",
        profile="sd",
        privacy_masks=masks,
    )


def test_frames_have_the_profile_size_increasing_sequences_and_black_masks(tmp_path: Path) -> None:
    processor = FrameProcessor(_camera([LEFT_THIRD]), PROFILE, SequenceStore(tmp_path))
    source = np.full((720, 1280, 3), 200, dtype=np.uint8)  # bright everywhere
    t0 = datetime(2026, 11, 26, 12, tzinfo=UTC)
    frames = [processor.process(source.copy(), t0 + timedelta(seconds=i)).frame for i in range(3)]
    assert [f.sequence for f in frames] == [0, 1, 2]
    decoded = cv2.imdecode(np.frombuffer(frames[0].image, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (360, 640, 3)
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert frames[0].privacy_masked
    masked = decoded[:, : int(0.33 * 640) - 2]
    assert int(masked.max()) <= 10  # black, up to JPEG ringing
    assert int(decoded[:, 300:].min()) >= 190  # the rest untouched


def test_source_image_is_not_modified_by_masking(tmp_path: Path) -> None:
    processor = FrameProcessor(_camera([LEFT_THIRD]), PROFILE, SequenceStore(tmp_path))
    source = np.full((360, 640, 3), 200, dtype=np.uint8)  # already the profile size
    processor.process(source, datetime.now(UTC))
    assert int(source.min()) == 200


def test_a_moving_scene_starts_motion_and_a_still_one_does_not(tmp_path: Path) -> None:
    moving = FrameProcessor(_camera([]), PROFILE, SequenceStore(tmp_path / "a"))
    still = FrameProcessor(_camera([]), PROFILE, SequenceStore(tmp_path / "b"))
    scene = SyntheticScene("cam-1", "Test", 640, 360)
    t0 = datetime(2026, 11, 26, 12, tzinfo=UTC)
    first = scene.render(t0)
    moving_kinds, still_kinds = [], []
    for i in range(40):
        at = t0 + timedelta(seconds=i * 0.4)
        moving_kinds += [e.kind for e in moving.process(scene.render(at), at).events]
        still_kinds += [e.kind for e in still.process(first.copy(), at).events]
    assert CameraEventKind.MOTION_START in moving_kinds
    assert still_kinds == []

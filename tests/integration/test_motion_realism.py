"""Motion and tamper detection on a real clip: people crossing a hall (see shared/data/README).

Synthetic frames prove the logic; this proves the default thresholds suit real video, with its
compression noise, soft edges and crowds. No services needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import cv2
import pytest

from producers.motion import MotionChange, MotionDetector
from producers.normalise import Image
from producers.tamper import TamperDetector
from schemas.config import CameraProfile, load
from schemas.records import TamperKind

CLIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pedestrians-720p.avi"
EXAMPLES = Path(__file__).resolve().parents[2] / "vigie" / "examples" / "brussels.yaml"


@pytest.fixture(scope="module")
def profile() -> CameraProfile:
    """The example configuration's 640x360 profile (motion: 2% of the view, 3 frames)."""
    return next(p for p in load(EXAMPLES).profiles if p.name == "sd-5fps")


@pytest.fixture(scope="module")
def frames(profile: CameraProfile) -> list[Image]:
    if not CLIP.exists():
        pytest.skip(f"test clip {CLIP} is absent (it is not shipped with the repository)")
    capture = cv2.VideoCapture(str(CLIP))
    out: list[Image] = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            size = (profile.width, profile.height)
            out.append(cast(Image, cv2.resize(frame, size, interpolation=cv2.INTER_AREA)))
    finally:
        capture.release()
    assert len(out) > 300, f"only {len(out)} frames decoded from {CLIP}"
    return out


def test_people_walking_start_motion_with_the_default_thresholds(
    frames: list[Image], profile: CameraProfile
) -> None:
    """With the example profile's thresholds, walkers start motion soon after warm-up, and
    the event lasts while they keep walking."""
    assert (profile.motion_threshold, profile.motion_min_frames) == (0.02, 3)
    detector = MotionDetector.for_profile(profile)
    events = [(i, c) for i, f in enumerate(frames) if (c := detector.update(f)) is not None]
    assert events, "no motion detected on a clip full of walking people"
    first_index, first = events[0]
    assert first is MotionChange.START
    assert first_index < 30, f"motion started late, at frame {first_index}"
    assert [c for _, c in events] == [MotionChange.START], f"event cut in pieces: {events}"


def test_still_frame_of_the_clip_is_no_motion(frames: list[Image], profile: CameraProfile) -> None:
    """A real (compressed, textured) frame repeated 100 times is a static scene: no motion."""
    detector = MotionDetector.for_profile(profile)
    for _ in range(100):
        assert detector.update(frames[0]) is None
    assert detector.score == 0.0


def test_no_tamper_on_people_walking(frames: list[Image]) -> None:
    """A busy hall (a crowd over a plain floor) raises no tamper alarm with the defaults."""
    detector = TamperDetector()
    alarms = [(i, k) for i, f in enumerate(frames) if (k := detector.update(f)) is not None]
    assert alarms == []


def test_tamper_detector_sees_a_cover_and_a_blur_on_the_real_view(frames: list[Image]) -> None:
    """The same defaults do fire on this view when it is really covered or defocused, so the
    quiet result above is not a detector that never fires."""
    detector = TamperDetector()
    for frame in frames[:100]:
        assert detector.update(frame) is None
    blurred = [
        detector.update(cast(Image, cv2.GaussianBlur(f, (31, 31), 0))) for f in frames[100:130]
    ]
    assert [k for k in blurred if k is not None] == [TamperKind.DEFOCUS]
    black = [detector.update(f * 0) for f in frames[130:140]]
    assert [k for k in black if k is not None] == [TamperKind.COVERED]

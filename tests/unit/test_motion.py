"""Motion detection: events start on moving objects, end when they stop, ignore noise and masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from producers.motion import MotionChange, MotionDetector
from producers.normalise import Image
from schemas.config import CameraProfile, PrivacyMask
from schemas.records import CameraEventKind

W, H = 320, 180  # small frames keep the tests fast; the detector works at 160 px anyway
WARMUP = 10


def _background(seed: int = 3) -> Image:
    """A textured static scene: blocks of random colour with a few sharp edges."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(30, 200, size=(18, 32, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(blocks, (W, H), interpolation=cv2.INTER_NEAREST))


def _noisy(image: Image, rng: np.random.Generator, sigma: float = 4.0) -> Image:
    noise = rng.normal(0.0, sigma, size=image.shape)
    return np.clip(image.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def _with_box(background: Image, x: int, y: int, size: int = 50) -> Image:
    frame = background.copy()
    cv2.rectangle(frame, (x, y), (x + size, y + size), (250, 250, 250), thickness=-1)
    return frame


def _run(detector: MotionDetector, frames: list[Image]) -> list[tuple[int, MotionChange]]:
    return [(i, c) for i, f in enumerate(frames) if (c := detector.update(f)) is not None]


def test_static_noisy_scene_never_fires() -> None:
    """Sensor noise on a still scene produces no motion event over 200 frames."""
    rng = np.random.default_rng(0)
    background = _background()
    detector = MotionDetector(0.02, 3)
    frames = [_noisy(background, rng) for _ in range(200)]
    assert _run(detector, frames) == []
    assert detector.score < 0.02


def test_moving_object_starts_after_min_frames_and_ends_after_it_leaves() -> None:
    """START comes on the min_frames-th frame with a moving object, END once it has left."""
    rng = np.random.default_rng(1)
    background = _background()
    still = [_noisy(background, rng) for _ in range(30)]
    moving = [_noisy(_with_box(background, 20 + 6 * i, 60), rng) for i in range(20)]
    gone = [_noisy(background, rng) for _ in range(20)]
    detector = MotionDetector(0.02, 3)
    events = _run(detector, still + moving + gone)
    assert events == [(30 + 2, MotionChange.START), (50 + 2, MotionChange.END)]


def test_object_that_stops_ends_the_event() -> None:
    """A car that parks ends the motion event: it is no longer motion once it stands still."""
    rng = np.random.default_rng(2)
    background = _background()
    still = [_noisy(background, rng) for _ in range(30)]
    moving = [_noisy(_with_box(background, 20 + 6 * i, 60), rng) for i in range(15)]
    parked = [_noisy(_with_box(background, 20 + 6 * 15, 60), rng) for _ in range(150)]
    detector = MotionDetector(0.02, 3, history=50)
    kinds = [c for _, c in _run(detector, still + moving + parked)]
    assert kinds == [MotionChange.START, MotionChange.END]
    assert detector.active is False


def test_single_noisy_frame_does_not_start_an_event() -> None:
    """Hysteresis: one frame above the threshold (a flash, a glitch) is not motion."""
    rng = np.random.default_rng(4)
    background = _background()
    frames = [_noisy(background, rng) for _ in range(30)]
    frames += [_noisy(_with_box(background, 100, 50, size=100), rng)]
    frames += [_noisy(background, rng) for _ in range(30)]
    detector = MotionDetector(0.02, 3)
    assert _run(detector, frames) == []


def test_warmup_frames_never_fire() -> None:
    """While the background is being learnt, even a changing picture reports nothing."""
    rng = np.random.default_rng(5)
    frames = [_noisy(_background(seed), rng) for seed in range(WARMUP)]
    detector = MotionDetector(0.02, 1, warmup_frames=WARMUP)
    assert _run(detector, frames) == []
    assert detector.score > 0.02  # it did see change, and stayed quiet


def test_motion_inside_a_privacy_mask_does_not_fire() -> None:
    """People behind a masked window never trigger motion (and the same motion unmasked does)."""
    rng = np.random.default_rng(6)
    background = _background()
    still = [_noisy(background, rng) for _ in range(30)]
    moving = [_noisy(_with_box(background, 170 + 5 * i, 50), rng) for i in range(20)]
    right_half = PrivacyMask(name="flat", polygon=[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)])
    masked = MotionDetector(0.02, 3, masks=[right_half])
    assert _run(masked, still + moving) == []
    unmasked = MotionDetector(0.02, 3)
    assert [c for _, c in _run(unmasked, still + moving)] == [MotionChange.START]


def test_same_frames_give_the_same_events() -> None:
    """Deterministic: replaying the same frames gives the same events and scores."""
    rng = np.random.default_rng(7)
    background = _background()
    frames = [_noisy(background, rng) for _ in range(20)]
    frames += [_noisy(_with_box(background, 5 * i, 25), rng) for i in range(30)]
    first, second = MotionDetector(0.02, 3), MotionDetector(0.02, 3)
    assert _run(first, frames) == _run(second, frames)
    assert first.score == second.score


def test_profile_thresholds_and_event_kinds() -> None:
    """The camera profile sets the thresholds; changes map onto the camera-event kinds."""
    profile = CameraProfile(name="p", width=640, height=360, max_fps=5.0, motion_min_frames=4)
    detector = MotionDetector.for_profile(profile)
    assert (detector.threshold, detector.min_frames) == (0.02, 4)
    assert CameraEventKind(MotionChange.START.value) is CameraEventKind.MOTION_START
    assert CameraEventKind(MotionChange.END.value) is CameraEventKind.MOTION_END


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_invalid_threshold_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        MotionDetector(threshold, 3)

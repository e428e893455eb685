"""Tamper detection: a covered, defocused or re-aimed camera is reported once; people are not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import cv2
import numpy as np

from producers.masks import MaskRenderer
from producers.normalise import Image
from producers.tamper import TamperDetector
from schemas.config import PrivacyMask
from schemas.records import TamperKind

W, H = 640, 360
_RNG = np.random.default_rng(11)
# A few noise fields reused in turn: sensor noise is in every frame, generating it is slow.
_NOISE = [_RNG.normal(0.0, 3.0, size=(H, W, 3)).astype(np.int16) for _ in range(5)]


def _scene(seed: int) -> Image:
    """A textured view: coloured blocks with sharp edges and some thin lines."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(30, 220, size=(12, 20, 3), dtype=np.uint8)
    image = cast(Image, cv2.resize(blocks, (W, H), interpolation=cv2.INTER_NEAREST))
    for _ in range(15):
        x1, x2 = (int(v) for v in rng.integers(0, W, size=2))
        y1, y2 = (int(v) for v in rng.integers(0, H, size=2))
        cv2.line(image, (x1, y1), (x2, y2), (255, 255, 255), 1)
    return image


def _noisy(image: Image, i: int) -> Image:
    noisy = np.clip(image.astype(np.int16) + _NOISE[i % len(_NOISE)], 0, 255)
    return cast(Image, noisy.astype(np.uint8))


def _blur(image: Image, kernel: int) -> Image:
    """What a lens out of focus shows: the same scene, without its fine detail."""
    return cast(Image, cv2.GaussianBlur(image, (kernel, kernel), 0))


def _with_people(scene: Image, i: int) -> Image:
    """Three boxes walking across the view at different speeds."""
    frame = scene.copy()
    for k, (speed, y, colour) in enumerate([(7, 60, 240), (4, 180, 20), (10, 260, 128)]):
        x = (30 * k + speed * i) % (W + 60) - 60
        cv2.rectangle(frame, (x, y), (x + 50, y + 90), (colour, colour, colour), thickness=-1)
    return frame


def _feed(
    detector: TamperDetector, frames: Iterable[Image], start: int = 0
) -> list[tuple[int, TamperKind]]:
    return [(start + i, k) for i, f in enumerate(frames) if (k := detector.update(f)) is not None]


def _learnt(detector: TamperDetector, scene: Image, frames: int = 30) -> TamperDetector:
    assert _feed(detector, (_noisy(scene, i) for i in range(frames))) == []
    return detector


def test_black_frame_reports_covered_once() -> None:
    """A covered lens (black image) is reported once, not on every frame while it lasts."""
    detector = _learnt(TamperDetector(covered_frames=3), _scene(1))
    black = np.zeros((H, W, 3), np.uint8)
    assert _feed(detector, [black] * 50) == [(2, TamperKind.COVERED)]
    assert detector.state is TamperKind.COVERED


def test_uniform_grey_cover_reports_covered() -> None:
    """Tape or paint (a uniform, not black, image with some noise) is a cover too."""
    detector = _learnt(TamperDetector(), _scene(1))
    grey = [_noisy(np.full((H, W, 3), 140, np.uint8), i) for i in range(10)]
    assert [k for _, k in _feed(detector, grey)] == [TamperKind.COVERED]


def test_blurred_view_reports_defocus() -> None:
    """Turning the focus ring (a heavily blurred view of the same scene) reports DEFOCUS once."""
    scene = _scene(2)
    detector = _learnt(TamperDetector(defocus_frames=5), scene)
    blurred = _blur(scene, 31)
    events = _feed(detector, (_noisy(blurred, i) for i in range(40)))
    assert events == [(4, TamperKind.DEFOCUS)]


def test_slight_blur_is_not_defocus() -> None:
    """Ordinary softness (a 3x3 blur, e.g. a lower bit rate) is not a tamper."""
    scene = _scene(2)
    detector = _learnt(TamperDetector(), scene)
    soft = _blur(scene, 3)
    assert _feed(detector, (_noisy(soft, i) for i in range(40))) == []


def test_replaced_view_reports_scene_change_after_the_configured_frames() -> None:
    """A camera turned to another view is reported after scene_frames consecutive frames."""
    detector = _learnt(TamperDetector(scene_frames=8), _scene(3))
    other = _scene(4)
    events = _feed(detector, (_noisy(other, i) for i in range(30)))
    assert events == [(7, TamperKind.SCENE_CHANGE)]


def test_brief_occlusion_is_not_a_scene_change() -> None:
    """A bus filling the view for fewer than scene_frames frames is not a re-aimed camera."""
    detector = _learnt(TamperDetector(scene_frames=10), _scene(3))
    frames = [_noisy(_scene(4), i) for i in range(6)] + [_noisy(_scene(3), i) for i in range(30)]
    assert _feed(detector, frames) == []


def test_people_walking_report_nothing() -> None:
    """Normal activity in front of the camera never raises a tamper alarm."""
    scene = _scene(5)
    detector = TamperDetector()
    frames = (_noisy(_with_people(scene, i), i) for i in range(300))
    assert _feed(detector, frames) == []
    assert detector.state is None


def test_lighting_change_reports_nothing() -> None:
    """Lights dimmed to 60% (dusk, a cloud) is not a tamper."""
    scene = _scene(6)
    detector = _learnt(TamperDetector(), scene)
    dim = (scene.astype(np.float32) * 0.6).astype(np.uint8)
    assert _feed(detector, (_noisy(dim, i) for i in range(40))) == []


def test_recovery_then_new_cover_is_reported_again() -> None:
    """After the cover is removed the camera recovers, and a second cover is a new alarm."""
    scene = _scene(7)
    detector = _learnt(TamperDetector(recover_frames=5), scene)
    black = np.zeros((H, W, 3), np.uint8)
    assert [k for _, k in _feed(detector, [black] * 10)] == [TamperKind.COVERED]
    assert _feed(detector, (_noisy(scene, i) for i in range(4))) == []
    assert detector.state is TamperKind.COVERED  # not yet: recover_frames not reached
    assert _feed(detector, (_noisy(scene, i) for i in range(10))) == []
    assert _state(detector) is None
    assert [k for _, k in _feed(detector, [black] * 10)] == [TamperKind.COVERED]


def test_defocus_recovers_when_refocused_and_cover_after_defocus_is_reported() -> None:
    """DEFOCUS clears once focus is back; a different tamper kind is a new report."""
    scene = _scene(8)
    detector = _learnt(TamperDetector(), scene)
    blurred = _blur(scene, 31)
    assert [k for _, k in _feed(detector, (_noisy(blurred, i) for i in range(20)))] == [
        TamperKind.DEFOCUS
    ]
    black = np.zeros((H, W, 3), np.uint8)
    assert [k for _, k in _feed(detector, [black] * 5)] == [TamperKind.COVERED]
    assert _feed(detector, (_noisy(scene, i) for i in range(20))) == []
    assert detector.state is None


def test_camera_reaimed_for_good_is_accepted_as_its_new_view() -> None:
    """A scene change is reported once; the new view then becomes normal (no endless alarm)."""
    detector = _learnt(TamperDetector(reference_alpha=0.05), _scene(9))
    other = _scene(10)
    events = _feed(detector, (_noisy(other, i) for i in range(200)))
    assert [k for _, k in events] == [TamperKind.SCENE_CHANGE]
    assert detector.state is None


def test_warmup_never_fires() -> None:
    """While the detector learns the view, even a black image reports nothing."""
    detector = TamperDetector(warmup_frames=10)
    assert _feed(detector, [np.zeros((H, W, 3), np.uint8)] * 10) == []


def test_uniform_cover_is_seen_despite_a_large_privacy_mask() -> None:
    """Black privacy masks are not scene content: covering the rest still reports COVERED."""
    mask = PrivacyMask(name="flats", polygon=[(0.0, 0.0), (0.6, 0.0), (0.6, 1.0), (0.0, 1.0)])
    scene = _scene(12)
    scene[:, : int(0.6 * W) + 1] = 0  # what the masks module leaves of the view
    detector = _learnt(TamperDetector(masks=[mask]), scene)
    cover = np.full((H, W, 3), 150, np.uint8)
    cover[:, : int(0.6 * W) + 1] = 0
    assert [k for _, k in _feed(detector, (_noisy(cover, i) for i in range(10)))] == [
        TamperKind.COVERED
    ]
    # Without the masks the black half would look like contrast and hide the cover.
    blind = _learnt(TamperDetector(), scene)
    assert TamperKind.COVERED not in [
        k for _, k in _feed(blind, (_noisy(cover, i) for i in range(10)))
    ]


def test_defocus_is_seen_despite_the_sharp_edges_of_privacy_masks() -> None:
    """Masks are drawn after the lens blur, so their sharp edges must not count as focus: a
    facade with a dozen masked windows still reports DEFOCUS when the lens is blurred."""
    windows = [
        PrivacyMask(
            name=f"window {col}-{row}",
            polygon=[
                (0.1 + 0.2 * col, 0.1 + 0.3 * row),
                (0.2 + 0.2 * col, 0.1 + 0.3 * row),
                (0.2 + 0.2 * col, 0.3 + 0.3 * row),
                (0.1 + 0.2 * col, 0.3 + 0.3 * row),
            ],
        )
        for col in range(4)
        for row in range(3)
    ]
    masker = MaskRenderer(windows)
    scene = _scene(13)
    detector = TamperDetector(masks=windows)
    assert _feed(detector, (masker.apply(_noisy(scene, i)) for i in range(30))) == []
    blurred = _blur(scene, 31)
    events = _feed(detector, (masker.apply(_noisy(blurred, i)) for i in range(20)))
    assert [k for _, k in events] == [TamperKind.DEFOCUS]


def _state(detector: TamperDetector) -> TamperKind | None:
    # A call, so that the type checker does not keep an earlier `assert state is ...` narrowing.
    return detector.state

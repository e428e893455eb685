"""Motion start/end detection for one camera, by background subtraction.

Pure and deterministic: the same sequence of images always gives the same events, so the logic
is unit-tested on synthetic frames and checked once on a real clip.

Why the choices:
- Work on a small (160 px wide) blurred grayscale copy: motion is about where people and
  vehicles are, not fine detail; downscaling averages away sensor and JPEG noise and makes the
  per-frame cost independent of the camera's resolution (well under a millisecond).
- MOG2 (no shadow detection) keeps a per-pixel model of the background, so flickering areas
  (leaves, screens) learn a wider variance instead of firing forever, and a parked car slowly
  becomes background. Shadows are counted as motion: a walking person's shadow is motion.
- Hysteresis on the frame count: a START needs `min_frames` consecutive frames above the
  threshold and an END `end_frames` consecutive frames below it, so one noisy frame cannot
  start an event and a person pausing for a moment does not cut one in two.
- Privacy-masked areas are excluded from both the changed pixels and the pixel count, so a
  large mask neither hides motion (by diluting the fraction) nor produces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from producers.masks import MaskRenderer
from producers.normalise import Image
from schemas.config import CameraProfile, PrivacyMask

WORK_WIDTH = 160


class MotionChange(StrEnum):
    """An edge of a motion event; the values are the matching ``CameraEventKind`` values."""

    START = "MOTION_START"
    END = "MOTION_END"


def to_work_gray(image: Image, width: int) -> Image:
    """A small grayscale copy of `image`, about `width` px wide, with the aspect ratio kept.

    Halves with INTER_AREA while possible, then one last INTER_AREA resize: OpenCV has a fast
    path for exact halving, so 640 -> 320 -> 160 costs a third of one 640 -> 160 resize. Area
    interpolation averages the source pixels, which is what smooths sensor and JPEG noise
    (a linear resize would sample a few pixels and keep the noise)."""
    small = image
    while small.shape[1] >= 2 * width and small.shape[0] >= 4:
        half = (small.shape[1] // 2, small.shape[0] // 2)
        small = cast(Image, cv2.resize(small, half, interpolation=cv2.INTER_AREA))
    if small.ndim == 3:
        small = cast(Image, cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
    h, w = small.shape[:2]
    if w != width:
        size = (width, max(1, round(h * width / w)))
        small = cast(Image, cv2.resize(small, size, interpolation=cv2.INTER_AREA))
    return small


class MotionDetector:
    """Turns a stream of images into motion START/END changes.

    threshold:      fraction (0..1) of unmasked pixels that must differ from the background.
    min_frames:     consecutive frames at or above `threshold` to START.
    end_frames:     consecutive frames below `threshold` to END (default: `min_frames`).
    masks:          privacy masks of the camera; masked areas are ignored.
    warmup_frames:  the first frames only learn the background and never fire.
    history:        frames of background memory (MOG2); something that stays still for about
                    this long becomes background.
    var_threshold:  MOG2 squared Mahalanobis distance for a pixel to be foreground.
    """

    def __init__(
        self,
        threshold: float,
        min_frames: int,
        *,
        end_frames: int | None = None,
        masks: Sequence[PrivacyMask] = (),
        warmup_frames: int = 10,
        history: int = 500,
        var_threshold: float = 16.0,
        work_width: int = WORK_WIDTH,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold} must be in (0, 1]")
        if min_frames < 1 or (end_frames is not None and end_frames < 1):
            raise ValueError("min_frames and end_frames must be at least 1")
        self.threshold = threshold
        self.min_frames = min_frames
        self.end_frames = end_frames if end_frames is not None else min_frames
        self.warmup_frames = warmup_frames
        self._history = history
        self._var_threshold = var_threshold
        self._work_width = work_width
        self._masks = MaskRenderer(masks)
        self.score = 0.0  # changed fraction of the last frame
        self.active = False  # inside a motion event
        self.reset()

    @classmethod
    def for_profile(
        cls, profile: CameraProfile, masks: Sequence[PrivacyMask] = ()
    ) -> MotionDetector:
        return cls(profile.motion_threshold, profile.motion_min_frames, masks=masks)

    def reset(self) -> None:
        """Forget the background (e.g. after a reconnection): warm-up starts again."""
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=self._history, varThreshold=self._var_threshold, detectShadows=False
        )
        self._size: tuple[int, int] | None = None
        self._valid: npt.NDArray[np.uint8] = np.zeros((0, 0), dtype=np.uint8)
        self._valid_count = 0
        self._seen = 0
        self._run = 0  # consecutive frames on the other side of the threshold
        self.score = 0.0
        self.active = False

    def update(self, image: Image) -> MotionChange | None:
        """Feed the next image; a MotionChange when motion starts or ends, else None."""
        small = to_work_gray(image, self._work_width)
        small = cast(Image, cv2.GaussianBlur(small, (5, 5), 0))
        size = (small.shape[1], small.shape[0])
        if size != self._size:
            # A new resolution (stream switch) invalidates the learnt background.
            active = self.active
            self.reset()
            self.active = active
            self._size = size
            self._valid = (~self._masks.mask_for(*size)).astype(np.uint8)
            self._valid_count = cv2.countNonZero(self._valid)
        foreground = self._subtractor.apply(small)
        if self._valid_count == 0:  # fully masked camera: nothing to watch
            self.score = 0.0
        else:
            changed = cv2.countNonZero(cv2.bitwise_and(foreground, foreground, mask=self._valid))
            self.score = changed / self._valid_count
        self._seen += 1
        if self._seen <= self.warmup_frames:
            return None
        return self._hysteresis()

    def _hysteresis(self) -> MotionChange | None:
        above = self.score >= self.threshold
        if above != self.active:
            self._run += 1
        else:
            self._run = 0
        if not self.active and self._run >= self.min_frames:
            self.active, self._run = True, 0
            return MotionChange.START
        if self.active and self._run >= self.end_frames:
            self.active, self._run = False, 0
            return MotionChange.END
        return None

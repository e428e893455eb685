"""Tamper detection for one camera: covered lens, loss of focus, camera turned or moved.

Pure and deterministic, like motion detection. Each frame gives three measures on a small
grayscale copy (320 px wide: enough detail to see focus, cheap whatever the camera's size):

- COVERED: the luminance is almost uniform (low standard deviation): a hand, a bag, paint,
  tape or a dead-black image.
- DEFOCUS: the sharpness falls well below the camera's learnt baseline while the scene is still
  the same one. Sharpness is the variance of the Laplacian divided by the variance of the
  image: a lighting change scales both and leaves the ratio alone, defocus removes the high
  frequencies and divides it several times.
- SCENE_CHANGE: the frame no longer matches a long-term reference of the view (a tiny,
  slowly updated average): it correlates poorly with it AND most of its pixels differ from it.
  Both are needed because each alone fails on a crowd over a plain floor (the real clip in the
  tests): people dominate the correlation, yet the floor between them still matches; and a
  brightness change moves every pixel, yet the correlation stays high. Ordinary motion changes
  a part of the view only.

A condition must hold for several consecutive frames (a bus passing close to the lens is not
a cover), and `update` returns a kind only on the transition into that tampered state; the state
clears after `recover_frames` frames without the condition. Baseline and reference stop learning
while the view is covered or defocused (they must remember the good view), but keep learning
during a SCENE_CHANGE, so a deliberately re-aimed camera is reported once and its new view
becomes the normal one after about 1/`reference_alpha` frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from producers.masks import MaskRenderer
from producers.motion import to_work_gray
from producers.normalise import Image
from schemas.config import PrivacyMask
from schemas.records import TamperKind

WORK_WIDTH = 320
REFERENCE_WIDTH = 64  # the reference only needs the layout of the view, not its detail

F32 = npt.NDArray[np.float32]


class TamperDetector:
    """Reports COVERED, DEFOCUS or SCENE_CHANGE once when a camera's view is tampered with.

    covered_std:      luminance standard deviation (0..255) below which the lens counts as
                      covered. A real scene, even at night, has lights and edges well above it.
    defocus_ratio:    DEFOCUS when sharpness < defocus_ratio * the learnt baseline.
    scene_correlation: SCENE_CHANGE needs the correlation with the reference below this
                      (1 = same view, a different view is near 0; a dense crowd on a plain
                      floor dips to about 0.55).
    scene_fraction, scene_delta: ... and more than `scene_fraction` of the pixels differing from
                      the reference by more than `scene_delta` levels, after removing the
                      median difference (a global brightness change). A crowd reaches ~0.3.
    covered_frames, defocus_frames, scene_frames: consecutive frames a condition must hold.
    recover_frames:   consecutive frames without the condition to leave the tampered state.
    warmup_frames:    the first frames learn the baseline and reference and never fire.
    baseline_alpha, reference_alpha: learning rates of the sharpness baseline and the reference.
    masks:            privacy masks; masked (black) areas would look like a uniform cover and
                      their edges like sharp detail, so they are left out of every measure.
    """

    def __init__(
        self,
        *,
        masks: Sequence[PrivacyMask] = (),
        covered_std: float = 8.0,
        covered_frames: int = 3,
        defocus_ratio: float = 0.35,
        defocus_frames: int = 5,
        scene_correlation: float = 0.5,
        scene_fraction: float = 0.4,
        scene_delta: float = 20.0,
        scene_frames: int = 10,
        recover_frames: int = 5,
        warmup_frames: int = 10,
        baseline_alpha: float = 0.02,
        reference_alpha: float = 0.01,
        work_width: int = WORK_WIDTH,
    ) -> None:
        self.covered_std = covered_std
        self.defocus_ratio = defocus_ratio
        self.scene_correlation = scene_correlation
        self.scene_fraction = scene_fraction
        self.scene_delta = scene_delta
        self._needed = {
            TamperKind.COVERED: covered_frames,
            TamperKind.DEFOCUS: defocus_frames,
            TamperKind.SCENE_CHANGE: scene_frames,
        }
        self.recover_frames = recover_frames
        self.warmup_frames = warmup_frames
        self.baseline_alpha = baseline_alpha
        self.reference_alpha = reference_alpha
        self._work_width = work_width
        self._masks = MaskRenderer(masks)
        self.reset()

    def reset(self) -> None:
        """Forget what the view looks like (e.g. after a reconnection): warm-up starts again."""
        self.state: TamperKind | None = None
        self.luma_std = 0.0  # the last frame's measures, for health reports and tuning
        self.sharpness = 0.0
        self.correlation = 1.0
        self.changed_fraction = 0.0
        self._baseline = 0.0
        self._reference: F32 | None = None
        self._size: tuple[int, int] | None = None
        self._valid: npt.NDArray[np.uint8] | None = None
        self._ref_valid: npt.NDArray[np.bool_] | None = None
        self._seen = 0
        self._runs = dict.fromkeys(TamperKind, 0)
        self._clear_run = 0

    def _prepare(self, size: tuple[int, int], ref_size: tuple[int, int]) -> None:
        if size != self._size:
            state = self.state
            self.reset()
            self.state = state
            self._size = size
            if not self._masks.has_masks:
                self._valid, self._ref_valid = None, None  # whole frame: no masking cost
                return
            valid = (~self._masks.mask_for(*size)).astype(np.uint8)
            # Erode so that the sharp edge of a black mask never counts as scene detail.
            self._valid = cast(npt.NDArray[np.uint8], cv2.erode(valid, np.ones((5, 5), np.uint8)))
            self._ref_valid = ~self._masks.mask_for(*ref_size)

    def update(self, image: Image) -> TamperKind | None:
        """Feed the next image; the tamper kind when the view becomes tampered, else None."""
        gray = to_work_gray(image, self._work_width)
        tiny = to_work_gray(gray, REFERENCE_WIDTH).astype(np.float32)
        self._prepare((gray.shape[1], gray.shape[0]), (tiny.shape[1], tiny.shape[0]))
        self._measure(gray, tiny)
        self._seen += 1
        if self._seen <= self.warmup_frames:
            self._learn(tiny, rate=1.0 / self._seen)  # plain average of the warm-up frames
            return None
        conditions = self._conditions()
        for kind in TamperKind:
            self._runs[kind] = self._runs[kind] + 1 if kind in conditions else 0
        change = self._transition(conditions)
        # Learn only from a normal view, or from the new view of a reported re-aim; never from
        # a view under suspicion (it would teach the detector to accept it before it fires).
        normal = not conditions and self.state is None
        reaimed = self.state is TamperKind.SCENE_CHANGE and conditions <= {self.state}
        if normal or reaimed:
            self._learn(tiny, rate=None)
        return change

    def _measure(self, gray: Image, tiny: F32) -> None:
        _, std = cv2.meanStdDev(gray, mask=self._valid)
        self.luma_std = float(std[0, 0])
        laplacian = cv2.Laplacian(gray, cv2.CV_16S)
        _, lap_std = cv2.meanStdDev(laplacian, mask=self._valid)
        self.sharpness = float(lap_std[0, 0]) ** 2 / max(self.luma_std**2, 1.0)
        if self._reference is None:
            self.correlation, self.changed_fraction = 1.0, 0.0
        else:
            current, reference = tiny.ravel(), self._reference.ravel()
            if self._ref_valid is not None:
                current, reference = tiny[self._ref_valid], self._reference[self._ref_valid]
            self.correlation = _correlation(current, reference)
            diff = current - reference
            diff -= np.median(diff) if diff.size else 0.0
            self.changed_fraction = (
                float(np.mean(np.abs(diff) > self.scene_delta)) if diff.size else 0.0
            )

    def _conditions(self) -> set[TamperKind]:
        # Exclusive by construction: a covered view has no focus or layout to speak of, and a
        # defocused view must still be the same scene (otherwise a re-aim at a plain wall would
        # be reported as defocus).
        if self.luma_std < self.covered_std:
            return {TamperKind.COVERED}
        if (
            self.correlation < self.scene_correlation
            and self.changed_fraction > self.scene_fraction
        ):
            return {TamperKind.SCENE_CHANGE}
        if self.sharpness < self.defocus_ratio * self._baseline:
            return {TamperKind.DEFOCUS}
        return set()

    def _transition(self, conditions: set[TamperKind]) -> TamperKind | None:
        for kind in conditions:
            if kind != self.state and self._runs[kind] >= self._needed[kind]:
                self.state, self._clear_run = kind, 0
                return kind
        if self.state is not None:
            self._clear_run = 0 if self.state in conditions else self._clear_run + 1
            if self._clear_run >= self.recover_frames:
                self.state, self._clear_run = None, 0
        return None

    def _learn(self, tiny: F32, rate: float | None) -> None:
        if self._reference is None:
            self._reference = tiny.copy()
            self._baseline = self.sharpness
            return
        ref_rate = self.reference_alpha if rate is None else rate
        cv2.accumulateWeighted(tiny, self._reference, ref_rate)
        base_rate = self.baseline_alpha if rate is None else rate
        self._baseline += base_rate * (self.sharpness - self._baseline)


def _correlation(a: F32, b: F32) -> float:
    """Pearson correlation of two pixel vectors; 0 when either is flat (no layout to compare)."""
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt(float((a * a).sum()) * float((b * b).sum())))
    if denom < 1e-6:
        return 0.0
    return float((a * b).sum()) / denom

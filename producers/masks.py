"""Permanent privacy masks: black out configured regions before a frame is encoded, so masked
pixels never leave the adapter (not in Kafka, not in the archive, not on a dashboard).

Masks are polygons in fractions of the frame, so one configuration fits every resolution. A
polygon is rasterised once per image size and cached; masking a frame is then a single masked
copy of a constant black image, with no per-frame geometry.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from producers.normalise import Image
from schemas.config import PrivacyMask

BoolMask = npt.NDArray[np.bool_]


def _to_pixels(
    polygon: Sequence[tuple[float, float]], width: int, height: int
) -> npt.NDArray[np.int32]:
    # fraction * size, clamped to the last index: an edge at 0.5 of a 100 px row starts at column
    # 50 (the right half is exactly columns 50..99), and an edge at 1.0 lands on column 99, so
    # a mask drawn to the border covers the border pixels. fillPoly includes the pixels on the
    # polygon's outline, so a mask may cover one pixel more than its exact area on its right or
    # bottom edge: it errs on the side of privacy.
    points = [
        (min(round(x * width), width - 1), min(round(y * height), height - 1)) for x, y in polygon
    ]
    return np.array(points, dtype=np.int32).reshape(-1, 1, 2)


class MaskRenderer:
    """Blacks out the privacy masks of one camera, for any image size it is given."""

    def __init__(self, masks: Sequence[PrivacyMask]) -> None:
        self._polygons = [list(m.polygon) for m in masks]
        self._masks: dict[tuple[int, int], npt.NDArray[np.uint8]] = {}
        self._black: dict[tuple[int, ...], Image] = {}

    @property
    def has_masks(self) -> bool:
        return bool(self._polygons)

    def _mask_u8(self, width: int, height: int) -> npt.NDArray[np.uint8]:
        """1 where masked, 0 elsewhere; rasterised once per size (sizes change rarely: a stream
        switch or a reconfigured camera)."""
        cached = self._masks.get((width, height))
        if cached is None:
            cached = np.zeros((height, width), dtype=np.uint8)
            polygons = [_to_pixels(p, width, height) for p in self._polygons]
            if polygons:
                cv2.fillPoly(cached, polygons, (1,), lineType=cv2.LINE_8)
            self._masks[(width, height)] = cached
        return cached

    def mask_for(self, width: int, height: int) -> BoolMask:
        """True where a pixel of a `width` x `height` image is masked (for analysers that must
        ignore masked areas)."""
        return self._mask_u8(width, height).astype(bool)

    def apply(self, image: Image) -> Image:
        """Black out the masked pixels of `image` IN PLACE and return it (the same array).

        In place because the adapter owns the freshly decoded frame and copying a 720p frame
        costs more than masking it. Callers that need the original must copy it first.
        """
        if not self._polygons:
            return image
        height, width = image.shape[:2]
        black = self._black.get(image.shape)
        if black is None:
            black = np.zeros_like(image)
            self._black[image.shape] = black
        # One native masked copy: ~20x faster than numpy boolean indexing on a 3-channel frame.
        out = cv2.copyTo(black, self._mask_u8(width, height), image)
        if out is not image:  # OpenCV wrote elsewhere (a non-contiguous view): copy back
            np.copyto(image, out)
        return image

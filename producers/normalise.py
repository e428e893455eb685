"""Turn a decoded camera image into the contract's frame image: profile size (aspect kept),
JPEG at the profile's quality."""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from schemas.errors import VigieError

Image = npt.NDArray[np.uint8]


class EncodeError(VigieError, RuntimeError):
    """OpenCV refused to encode an image."""


def fit_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest even size within the profile box that keeps the source's aspect ratio."""
    scale = min(max_width / width, max_height / height, 1.0)
    w = max(2, int(width * scale) // 2 * 2)
    h = max(2, int(height * scale) // 2 * 2)
    return w, h


def resize_to_profile(image: Image, max_width: int, max_height: int) -> Image:
    h, w = image.shape[:2]
    target = fit_size(w, h, max_width, max_height)
    if target == (w, h):
        return image
    return cast(Image, cv2.resize(image, target, interpolation=cv2.INTER_AREA))


def encode_jpeg(image: Image, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise EncodeError(f"JPEG encoding of a {image.shape} image failed")
    return bytes(buf)

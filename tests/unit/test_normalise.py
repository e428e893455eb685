"""Frames are normalised to the camera profile: aspect ratio kept, never upscaled, even sizes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from producers.normalise import encode_jpeg, fit_size, resize_to_profile


@pytest.mark.parametrize(
    ("source", "box", "expected"),
    [
        ((1920, 1080), (1280, 720), (1280, 720)),
        ((1920, 1080), (640, 640), (640, 360)),
        ((1280, 960), (1280, 720), (960, 720)),  # 4:3 camera in a 16:9 profile
        ((320, 180), (1280, 720), (320, 180)),  # never upscaled
        ((1001, 563), (640, 360), (640, 358)),  # even sizes for video encoders
    ],
)
def test_fit_size_keeps_aspect_within_the_profile(
    source: tuple[int, int], box: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert fit_size(*source, *box) == expected


def test_resized_jpeg_has_the_profile_size() -> None:
    image = np.full((1080, 1920, 3), 128, dtype=np.uint8)
    jpeg = encode_jpeg(resize_to_profile(image, 640, 360), quality=80)
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (360, 640, 3)
    assert jpeg[:2] == b"\xff\xd8"

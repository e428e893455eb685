"""Privacy masks: exactly the configured regions are blacked out, before encoding."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from producers.masks import MaskRenderer
from producers.normalise import Image, encode_jpeg
from schemas.config import PrivacyMask


def _mask(*points: tuple[float, float], name: str = "window") -> PrivacyMask:
    return PrivacyMask(name=name, polygon=list(points))


RIGHT_HALF = _mask((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))


def _scene(width: int, height: int, seed: int = 1) -> Image:
    """Bright random texture: no pixel is black before masking."""
    rng = np.random.default_rng(seed)
    return rng.integers(40, 256, size=(height, width, 3), dtype=np.uint8)


def test_right_half_mask_blacks_exactly_the_right_half() -> None:
    """A mask over the right half blacks every pixel there and leaves the left half intact."""
    image = _scene(100, 60)
    original = image.copy()
    out = MaskRenderer([RIGHT_HALF]).apply(image)
    assert (out[:, 50:] == 0).all()
    assert np.array_equal(out[:, :50], original[:, :50])


def test_apply_masks_in_place() -> None:
    """apply() works in place (documented): the same array comes back, masked."""
    image = _scene(64, 48)
    out = MaskRenderer([RIGHT_HALF]).apply(image)
    assert out is image
    assert (image[:, 32:] == 0).all()


def test_apply_masks_a_non_contiguous_view_in_place() -> None:
    """Masking a cropped view still changes the caller's array, not a hidden copy."""
    big = _scene(200, 100)
    view = big[:, 50:150]
    MaskRenderer([RIGHT_HALF]).apply(view)
    assert (big[:, 100:150] == 0).all()
    assert (big[:, 50:100] != 0).any(axis=2).all()


def test_mask_drawn_to_the_frame_border_covers_the_border_pixels() -> None:
    """A mask drawn to fraction 0.0 or 1.0 leaves no unmasked line at the edge of the frame."""
    image = _scene(101, 57)
    whole = _mask((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    MaskRenderer([whole]).apply(image)
    assert (image == 0).all()


def test_bottom_right_corner_mask_reaches_the_last_row_and_column() -> None:
    """A corner mask covers the last row and column, the window behind it is fully hidden."""
    image = _scene(80, 40)
    corner = _mask((0.75, 0.5), (1.0, 0.5), (1.0, 1.0), (0.75, 1.0))
    MaskRenderer([corner]).apply(image)
    assert (image[20:, 60:] == 0).all()
    assert (image[:20].reshape(-1, 3) != 0).any(axis=1).all()
    assert (image[:, :60].reshape(-1, 3) != 0).any(axis=1).all()


def test_several_masks_are_all_applied() -> None:
    """Every configured mask is blacked out; pixels outside all of them are untouched."""
    image = _scene(200, 100)
    original = image.copy()
    left_top = _mask((0.0, 0.0), (0.2, 0.0), (0.2, 0.2), (0.0, 0.2), name="a")
    triangle = _mask((0.5, 0.5), (1.0, 0.5), (1.0, 1.0), name="b")
    MaskRenderer([left_top, triangle]).apply(image)
    assert (image[:20, :40] == 0).all()
    assert (image[99, 199] == 0).all()  # inside the triangle's right-angle corner
    assert (image[60, 190] == 0).all()
    assert np.array_equal(image[30:50, 60:90], original[30:50, 60:90])  # outside both
    assert np.array_equal(image[95, 110], original[95, 110])  # left of the hypotenuse


@pytest.mark.parametrize(("width", "height"), [(320, 180), (640, 360), (1280, 720), (33, 17)])
def test_masks_follow_the_image_size(width: int, height: int) -> None:
    """One renderer serves every resolution (main/sub streams): the same fraction is masked."""
    renderer = MaskRenderer([RIGHT_HALF])
    image = renderer.apply(_scene(width, height))
    first_masked = round(width / 2)
    assert (image[:, first_masked:] == 0).all()
    assert (image[:, : first_masked - 1].reshape(-1, 3) != 0).any(axis=1).all()


def test_renderer_reused_across_sizes_keeps_each_size_right() -> None:
    """Alternating sizes (a stream switch and back) never applies a mask of the wrong size."""
    renderer = MaskRenderer([RIGHT_HALF])
    for width, height in [(100, 50), (60, 30), (100, 50)]:
        image = renderer.apply(_scene(width, height))
        assert (image[:, width // 2 :] == 0).all()
        assert (image[:, : width // 2].reshape(-1, 3) != 0).any(axis=1).all()


def test_no_masks_leave_the_image_unchanged() -> None:
    """A camera without masks publishes its image as captured."""
    renderer = MaskRenderer([])
    image = _scene(64, 48)
    original = image.copy()
    assert not renderer.has_masks
    assert np.array_equal(renderer.apply(image), original)
    assert MaskRenderer([RIGHT_HALF]).has_masks


def test_masked_pixels_stay_black_after_jpeg_round_trip() -> None:
    """What leaves the adapter is the JPEG: the masked area is still black once decoded."""
    image = _scene(640, 360)
    MaskRenderer([RIGHT_HALF]).apply(image)
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(image, 80), np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    # The compression may ring on the one pixel column touching the scene (this noise texture
    # is the worst case); everything further inside the mask must decode to black.
    assert int(decoded[:, 321:].max()) <= 10
    assert int(decoded[:, :300].max()) > 100  # the unmasked half still shows the scene

"""A synthetic camera for demos and tests: moving objects over a static scene, with the camera
name and the capture time burned in, so a viewer can tell cameras and moments apart."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np

from producers.sources.base import Image


@dataclass(frozen=True)
class MovingObject:
    radius_frac: float
    speed_frac_per_s: float
    phase: float
    colour: tuple[int, int, int]


class SyntheticScene:
    """Deterministic for a given camera id: the same id always draws the same scene."""

    def __init__(
        self, camera_id: str, label: str, width: int, height: int, objects: int = 3
    ) -> None:
        self.label = label
        self.width = width
        self.height = height
        seed = zlib.crc32(camera_id.encode())
        rng = np.random.default_rng(seed)
        self._background = self._draw_background(rng)
        self._objects = [
            MovingObject(
                radius_frac=float(rng.uniform(0.05, 0.09)),
                speed_frac_per_s=float(rng.uniform(0.4, 1.0)),
                phase=float(rng.uniform(0, 2 * math.pi)),
                colour=tuple(int(c) for c in rng.integers(40, 255, size=3)),  # type: ignore[arg-type]
            )
            for _ in range(objects)
        ]

    def _draw_background(self, rng: np.random.Generator) -> Image:
        base = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        base[:] = tuple(int(c) for c in rng.integers(50, 110, size=3))
        # A few "buildings" so the scene has edges (focus/tamper checks need texture).
        for _ in range(6):
            x = int(rng.integers(0, self.width))
            w = int(rng.integers(self.width // 12, self.width // 5))
            h = int(rng.integers(self.height // 5, self.height // 2))
            shade = tuple(int(c) for c in rng.integers(20, 80, size=3))
            cv2.rectangle(base, (x, self.height - h), (x + w, self.height), shade, thickness=-1)
        return base

    def render(self, at: datetime) -> Image:
        """The frame this camera shows at `at` (UTC)."""
        image = self._background.copy()
        t = at.timestamp()
        for obj in self._objects:
            angle = obj.phase + t * obj.speed_frac_per_s * 2 * math.pi / 4
            cx = int(self.width * (0.5 + 0.4 * math.cos(angle)))
            cy = int(self.height * (0.5 + 0.3 * math.sin(angle * 1.3)))
            radius = max(2, int(obj.radius_frac * self.width))
            cv2.circle(image, (cx, cy), radius, obj.colour, thickness=-1)
        stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
        scale = max(0.35, self.width / 1280)
        cv2.putText(
            image,
            self.label,
            (8, int(24 * scale) + 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.7,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        cv2.putText(
            image,
            stamp,
            (8, self.height - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.6,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        return image


class SyntheticSource:
    """FrameSource over a SyntheticScene: never fails, renders the scene at capture time."""

    def __init__(self, camera_id: str, label: str, width: int, height: int) -> None:
        self._scene = SyntheticScene(camera_id, label, width, height)

    def open(self) -> None:
        pass

    def read(self, now: datetime) -> Image:
        return self._scene.render(now)

    def close(self) -> None:
        pass

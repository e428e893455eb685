"""A video file as a camera (looped), read through OpenCV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import cast

import cv2

from producers.sources.base import Image, SourceError


class FileSource:
    def __init__(self, path: Path, loop: bool = True) -> None:
        self._path = path
        self._loop = loop
        self._capture: cv2.VideoCapture | None = None

    def open(self) -> None:
        if not self._path.exists():
            raise SourceError(f"video file {self._path} does not exist")
        capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            raise SourceError(f"OpenCV cannot open {self._path} (unsupported container or codec)")
        self._capture = capture

    def read(self, now: datetime) -> Image:
        if self._capture is None:
            raise SourceError("source not open")
        ok, image = self._capture.read()
        if not ok and self._loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        if not ok:
            raise SourceError(f"end of {self._path} or undecodable frame")
        return cast(Image, image)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

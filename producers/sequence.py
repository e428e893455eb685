"""Per-camera sequence numbers that never go backwards, also across adapter restarts.

Numbers are reserved in blocks: the high-water mark of a block is written to disk *before* any
number of it is used, so after a crash the adapter resumes above everything it could have
published. A restart leaves a detectable gap, never a repeat.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

BLOCK = 10_000


class SequenceStore:
    """Reserved high-water marks, one small file per camera (adapters of different processes
    never share a camera, so they never share a file)."""

    def __init__(self, directory: Path, block: int = BLOCK) -> None:
        self._dir = directory
        self._block = block
        self._next: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._lock = threading.Lock()  # cameras capture in worker threads

    def _path(self, camera_id: str) -> Path:
        return self._dir / f"{camera_id}.seq"

    def _read(self, camera_id: str) -> int:
        path = self._path(camera_id)
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return 0
        if not text.isdigit():
            raise ValueError(f"{path}: expected a sequence number, found {text[:40]!r}")
        return int(text)

    def _write(self, camera_id: str, reserved: int) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(camera_id)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            f.write(f"{reserved}\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def next(self, camera_id: str) -> int:
        with self._lock:
            if camera_id not in self._next:
                self._reserved[camera_id] = self._next[camera_id] = self._read(camera_id)
            number = self._next[camera_id]
            if number >= self._reserved[camera_id]:
                self._reserved[camera_id] = number + self._block
                self._write(camera_id, self._reserved[camera_id])
            self._next[camera_id] = number + 1
            return number

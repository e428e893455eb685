"""Replaying an archived MJPEG chunk in a browser, which plays no Motion JPEG in Matroska: its
JPEGs as they are, read back from the chunk by FFmpeg's demuxer (PyAV), then sent at their
pace as a multipart stream an `<img>` shows (like a live view). Nothing is re-encoded.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import av
import av.error

__all__ = ["ReplayFrame", "UnreadableChunk", "jpeg_frames", "schedule"]


class UnreadableChunk(Exception):
    """The chunk's bytes are not a Matroska file of JPEGs."""


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    pts_ms: int
    """Presentation time, milliseconds from the chunk's window start."""
    jpeg: bytes


def jpeg_frames(data: bytes) -> list[ReplayFrame]:
    """Every JPEG of an MJPEG chunk with its time (CPU-bound: run it in a thread)."""
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise UnreadableChunk("the chunk has no video")
            stream = container.streams.video[0]
            if stream.codec_context.name != "mjpeg":
                raise UnreadableChunk(f"the chunk is {stream.codec_context.name}, not MJPEG")
            scale = float(stream.time_base or 0) * 1000
            return [
                ReplayFrame(int((p.pts or 0) * scale), bytes(p))
                for p in container.demux(stream)
                if p.size
            ]
    except av.error.FFmpegError as exc:
        raise UnreadableChunk(f"the chunk cannot be read: {exc}") from exc


def schedule(frames: Sequence[ReplayFrame], from_ms: int) -> list[tuple[float, ReplayFrame]]:
    """When to send each frame from `from_ms` on: (seconds after the replay starts, frame).
    The frame showing at `from_ms` (the last one at or before it) goes first, at once."""
    ordered = sorted(frames, key=lambda f: f.pts_ms)
    start = 0
    for i, frame in enumerate(ordered):
        if frame.pts_ms <= from_ms:
            start = i
    kept = ordered[start:]
    if not kept:
        return []
    origin = max(from_ms, kept[0].pts_ms)
    return [(max(0, f.pts_ms - origin) / 1000, f) for f in kept]

"""A chunk's JPEG frames into one video object that standard tools play (ffprobe, ffmpeg, VLC).

Two archive profiles, chosen per operator (``Operator.archive_profile``):

``h264`` — H.264 (libx264 from the FFmpeg that PyAV's wheels bundle) in **MP4**.
    MP4/H.264 is what every player, browser and evidence-review tool opens, so a presigned
    URL handed to another operator plays in a browser as it is. Every chunk starts with a key
    frame and is independent of its neighbours (a chunk can be exported or deleted alone).
    Rate control is capped CRF: CRF 28 (constant quality) under a 280 kbit/s ceiling, which
    keeps a 640x360, 5 fps camera at about 140 MB per hour even on busy scenes (measured in
    bench/archive_bench.py); ``veryfast`` costs about 6 ms per frame on one core. A chunk is
    written whole (objects are immutable), so the usual streaming concerns of MP4 do not apply.

``mjpeg`` — the camera's JPEGs **as they are** (stream copy, no re-encoding: no CPU, no
    generation loss) in **Matroska** (``.mkv``). Matroska stores Motion JPEG natively
    (``V_MJPEG``) with a millisecond timestamp per frame, and ffmpeg, ffprobe and VLC read it;
    it costs about 3.5 times the bytes of ``h264``. Written by ``matroska.py`` (framing around
    the JPEGs, 0.3 ms per 50-frame chunk) rather than FFmpeg's muxer (2.5 ms, holding the GIL).

Timestamps: each frame's presentation time is its capture time relative to the window start,
in milliseconds (variable frame rate, as the camera delivered them; bumped by 1 ms where two
frames share a millisecond, since containers need increasing timestamps). The exact capture
times in microseconds, with sequence numbers and Kafka offsets, are in the chunk's manifest.

A frame that is not a decodable JPEG is left out of the video and reported in
:attr:`EncodedChunk.rejected` with the reason (the archiver dead-letters it).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from consumers.archive.chunker import ArchivedFrame, Chunk
from consumers.archive.matroska import mjpeg_matroska
from schemas.config import ArchiveProfile

__all__ = ["FORMATS", "EncodedChunk", "VideoFormat", "encode_chunk"]

_MS = Fraction(1, 1000)
H264_OPTIONS = {"crf": "28", "maxrate": "280k", "bufsize": "560k", "preset": "veryfast"}


@dataclass(frozen=True, slots=True)
class VideoFormat:
    container: str
    """FFmpeg muxer name."""
    codec: str
    ext: str
    content_type: str


FORMATS: Mapping[ArchiveProfile, VideoFormat] = {
    ArchiveProfile.H264: VideoFormat("mp4", "h264", "mp4", "video/mp4"),
    ArchiveProfile.MJPEG: VideoFormat("matroska", "mjpeg", "mkv", "video/x-matroska"),
}


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    """The video object of a chunk and which frames it holds, in presentation order."""

    format: VideoFormat
    data: bytes
    frames: tuple[ArchivedFrame, ...]
    pts_ms: tuple[int, ...]
    """Presentation time of each frame of ``frames``, ms from the window start."""
    width: int
    height: int
    rejected: tuple[tuple[ArchivedFrame, str], ...]
    """Frames left out, with the reason."""


def _presentation_times(chunk: Chunk, frames: list[ArchivedFrame]) -> list[int]:
    times: list[int] = []
    for frame in frames:
        pts = (frame.capture_us - chunk.window_start_us) // 1000
        if times and pts <= times[-1]:
            pts = times[-1] + 1
        times.append(pts)
    return times


def _jpeg_problem(image: bytes) -> str | None:
    if not image.startswith(b"\xff\xd8\xff"):
        return "not a JPEG: no start-of-image marker"
    # Some cameras pad the JPEG with zeros; rstrip copies the image, so only when needed.
    if not image.endswith(b"\xff\xd9") and not image.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "truncated JPEG: no end-of-image marker"
    return None


def encode_chunk(chunk: Chunk, profile: ArchiveProfile) -> EncodedChunk:
    """The chunk's video object in the profile's container; CPU-bound, run it in a thread."""
    if profile is ArchiveProfile.H264:
        return _encode_h264(chunk)
    return _mux_mjpeg(chunk)


def _mux_mjpeg(chunk: Chunk) -> EncodedChunk:
    fmt = FORMATS[ArchiveProfile.MJPEG]
    kept: list[ArchivedFrame] = []
    rejected: list[tuple[ArchivedFrame, str]] = []
    for frame in chunk.in_capture_order():
        problem = _jpeg_problem(frame.image)
        if problem is None:
            kept.append(frame)
        else:
            rejected.append((frame, problem))
    if not kept:
        return EncodedChunk(fmt, b"", (), (), 0, 0, tuple(rejected))
    pts = _presentation_times(chunk, kept)
    width, height = kept[0].width, kept[0].height
    # The last frame is shown as long as the interval before it (the camera's rate).
    last_interval = pts[-1] - pts[-2] if len(pts) > 1 else None
    data = mjpeg_matroska([f.image for f in kept], pts, width, height, last_interval)
    return EncodedChunk(fmt, data, tuple(kept), tuple(pts), width, height, tuple(rejected))


def _encode_h264(chunk: Chunk) -> EncodedChunk:
    fmt = FORMATS[ArchiveProfile.H264]
    decoder = av.CodecContext.create("mjpeg", "r")
    pictures: list[tuple[ArchivedFrame, av.VideoFrame]] = []
    rejected: list[tuple[ArchivedFrame, str]] = []
    for frame in chunk.in_capture_order():
        problem = _jpeg_problem(frame.image)
        if problem is not None:
            rejected.append((frame, problem))
            continue
        try:
            decoded = decoder.decode(av.Packet(frame.image))
        except av.error.FFmpegError as exc:
            rejected.append((frame, f"undecodable JPEG: {exc}"))
            continue
        if len(decoded) != 1:
            rejected.append((frame, "undecodable JPEG: the decoder returned no picture"))
            continue
        pictures.append((frame, decoded[0]))
    if not pictures:
        return EncodedChunk(fmt, b"", (), (), 0, 0, tuple(rejected))
    kept = [frame for frame, _ in pictures]
    pts = _presentation_times(chunk, kept)
    # H.264 4:2:0 needs even dimensions (profiles enforce it; a foreign frame may not).
    width = pictures[0][1].width // 2 * 2
    height = pictures[0][1].height // 2 * 2
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt.container) as output:
        stream = output.add_stream("libx264", options=H264_OPTIONS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        for (_, picture), at in zip(pictures, pts, strict=True):
            converted = picture.reformat(width=width, height=height, format="yuv420p")
            converted.pts = at
            converted.time_base = _MS
            for packet in stream.encode(converted):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return EncodedChunk(
        fmt, buffer.getvalue(), tuple(kept), tuple(pts), width, height, tuple(rejected)
    )

"""The Matroska writer of the mjpeg archive profile, read back by FFmpeg's own demuxer (PyAV):
what ffprobe, ffmpeg and VLC will see of an archived chunk."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest

from consumers.archive.chunker import ArchivedFrame, Chunk
from consumers.archive.encode import encode_chunk
from consumers.archive.matroska import CLUSTER_SPAN_MS, mjpeg_matroska
from schemas.config import ArchiveProfile


def _jpegs(count: int, width: int = 64, height: int = 48) -> list[bytes]:
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 255, (height, width, 3), dtype=np.uint8) for _ in range(count)]
    return [cv2.imencode(".jpg", image)[1].tobytes() for image in images]


def _packets(data: bytes) -> list[tuple[bytes, int | None]]:
    """(payload, pts) of each packet FFmpeg's demuxer reads."""
    with av.open(io.BytesIO(data), "r") as container:
        return [(bytes(p), p.pts) for p in container.demux(video=0) if p.size]


def test_ffmpeg_reads_every_jpeg_back_byte_for_byte_at_its_time() -> None:
    jpegs = _jpegs(50)
    pts = [i * 200 for i in range(50)]
    data = mjpeg_matroska(jpegs, pts, 64, 48, frame_duration_ms=200)
    with av.open(io.BytesIO(data), "r") as container:
        assert container.format.name.startswith("matroska")
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("mjpeg", 64, 48)
        assert container.duration == 10_000_000  # µs: last frame + its duration
        packets = [p for p in container.demux(stream) if p.size]
        assert [bytes(p) for p in packets] == jpegs
        assert [p.pts for p in packets] == pts
        assert all(p.is_keyframe for p in packets)
    with av.open(io.BytesIO(data), "r") as container:
        pictures = list(container.decode(video=0))
    assert [(f.width, f.height) for f in pictures] == [(64, 48)] * 50


def test_long_spans_are_split_into_clusters_that_seeking_finds() -> None:
    jpegs = _jpegs(40)
    pts = [i * 2_000 for i in range(40)]  # 78 s: beyond one cluster's 16-bit offsets
    data = mjpeg_matroska(jpegs, pts, 64, 48)
    assert data.count(bytes.fromhex("1F43B675")) >= 78_000 // CLUSTER_SPAN_MS + 1
    assert [at for _, at in _packets(data)] == pts
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        container.seek(62_000, stream=stream)
        first = next(container.decode(stream))
    assert first.pts == 62_000


def test_irregular_capture_times_are_kept() -> None:
    jpegs = _jpegs(5)
    pts = [0, 1, 450, 451, 9_999]
    assert [at for _, at in _packets(mjpeg_matroska(jpegs, pts, 64, 48))] == pts


@pytest.mark.parametrize(
    ("pts", "message"),
    [([0, 0], "strictly increasing"), ([5, 3], "strictly increasing"), ([-1, 3], ">= 0")],
)
def test_times_that_are_not_increasing_are_refused(pts: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mjpeg_matroska(_jpegs(2), pts, 64, 48)


def test_no_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        mjpeg_matroska([], [], 64, 48)


def _frame(offset: int, capture_us: int, image: bytes) -> ArchivedFrame:
    return ArchivedFrame("frames.op", 0, offset, "op", "cam", offset, capture_us, 64, 48, image)


def test_mjpeg_profile_stores_the_decodable_jpegs_and_reports_the_others() -> None:
    good = _jpegs(3)
    padded = good[2] + b"\x00" * 16  # some cameras pad their JPEGs
    chunk = Chunk("op", "cam", "frames.op", 0, 10_000_000, 10_000_000)
    chunk.frames += [
        _frame(0, 10_000_000, good[0]),
        _frame(1, 10_200_000, good[1][:-40]),  # truncated in transit
        _frame(2, 10_400_000, b"not a jpeg"),
        _frame(3, 10_600_000, padded),
    ]
    encoded = encode_chunk(chunk, ArchiveProfile.MJPEG)
    assert [f.offset for f in encoded.frames] == [0, 3]
    assert {f.offset: reason.split(":")[0] for f, reason in encoded.rejected} == {
        1: "truncated JPEG",
        2: "not a JPEG",
    }
    assert encoded.pts_ms == (0, 600)
    assert [payload for payload, _ in _packets(encoded.data)] == [good[0], padded]

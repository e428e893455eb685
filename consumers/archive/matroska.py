"""A Matroska (``.mkv``) writer for one Motion JPEG track: the camera's JPEGs as they are.

Why not FFmpeg's muxer through PyAV: it holds the GIL for the whole mux and copies every JPEG
twice through Python file callbacks (about 2.5 ms of one core per 50-frame chunk, the largest
cost of the archiver's store path in bench/archive_bench.py), while the layout of a stream copy
is a few dozen bytes of framing around each JPEG. This writes exactly that, in one join.

Layout (Matroska v4, EBML; element IDs from the Matroska specification, RFC 9559):

    EBML header                 DocType "matroska"
    Segment (sized)
      Info                      TimestampScale 1 ms, Duration, MuxingApp, WritingApp
      Tracks / TrackEntry       track 1, video, CodecID V_MJPEG, pixel width and height
      Cues                      one CuePoint per Cluster (seeking without scanning)
      Cluster ...               Timestamp, then one SimpleBlock (key frame) per JPEG

Block timestamps are 16-bit signed offsets from their Cluster's timestamp, so a new Cluster
starts before that range runs out (every ``CLUSTER_SPAN_MS``). FFmpeg (ffprobe, ffmpeg),
VLC and mkvtoolnix read the result; tests decode it back through PyAV's FFmpeg demuxer.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from itertools import pairwise

__all__ = ["CLUSTER_SPAN_MS", "mjpeg_matroska"]

CLUSTER_SPAN_MS = 30_000
"""Longest span of one Cluster; block offsets must stay within a signed 16-bit range."""

_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_VIDEO = 0xE0
_CUES = 0x1C53BB6B
_CUE_POINT = 0xBB
_CUE_TRACK_POSITIONS = 0xB7
_CLUSTER = 0x1F43B675
_SIMPLE_BLOCK = 0xA3
_TRACK = 1


def _id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def _size(n: int) -> bytes:
    """EBML variable-size integer: length marker bit then the value (all-ones is reserved)."""
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError(f"element too large for EBML: {n} bytes")


def _element(element_id: int, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return _id(element_id) + _size(len(body)) + body


def _uint(element_id: int, value: int) -> bytes:
    return _element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _string(element_id: int, value: str) -> bytes:
    return _element(element_id, value.encode("ascii"))


def _float(element_id: int, value: float) -> bytes:
    return _element(element_id, struct.pack(">d", value))


def _header() -> bytes:
    return _element(
        _EBML,
        _uint(0x4286, 1),  # EBMLVersion
        _uint(0x42F7, 1),  # EBMLReadVersion
        _uint(0x42F2, 4),  # EBMLMaxIDLength
        _uint(0x42F3, 8),  # EBMLMaxSizeLength
        _string(0x4282, "matroska"),  # DocType
        _uint(0x4287, 4),  # DocTypeVersion
        _uint(0x4285, 2),  # DocTypeReadVersion
    )


def _clusters(jpegs: Sequence[bytes], pts_ms: Sequence[int]) -> list[tuple[int, list[bytes]]]:
    """(cluster timestamp, its parts) with every block offset within CLUSTER_SPAN_MS."""
    clusters: list[tuple[int, list[bytes]]] = []
    start = 0
    parts: list[bytes] = []
    for jpeg, pts in zip(jpegs, pts_ms, strict=True):
        if not clusters or pts - start >= CLUSTER_SPAN_MS:
            start = pts
            parts = [_uint(0xE7, pts)]  # Cluster Timestamp
            clusters.append((pts, parts))
        # SimpleBlock: track number (EBML size), 16-bit relative timestamp, flags (key frame).
        block_header = b"\x81" + struct.pack(">hB", pts - start, 0x80)
        parts.append(_id(_SIMPLE_BLOCK) + _size(len(block_header) + len(jpeg)) + block_header)
        parts.append(jpeg)
    return clusters


def mjpeg_matroska(
    jpegs: Sequence[bytes],
    pts_ms: Sequence[int],
    width: int,
    height: int,
    frame_duration_ms: int | None = None,
) -> bytes:
    """A Matroska file of these JPEGs shown at ``pts_ms`` (strictly increasing, >= 0).

    ``frame_duration_ms``: the nominal frame interval, stored as the track's default duration
    (players use it for the last frame); the file's duration is the last time plus it.
    """
    if not jpegs:
        raise ValueError("a Matroska file needs at least one frame")
    if any(b <= a for a, b in pairwise(pts_ms)) or pts_ms[0] < 0:
        raise ValueError("presentation times must be >= 0 and strictly increasing")
    last_ms = frame_duration_ms or 1
    info = _element(
        _INFO,
        _uint(0x2AD7B1, 1_000_000),  # TimestampScale: 1 ms in ns
        _float(0x4489, float(pts_ms[-1] + last_ms)),  # Duration, in TimestampScale units
        _string(0x4D80, "vigie"),  # MuxingApp
        _string(0x5741, "vigie archiver"),  # WritingApp
    )
    track = [
        _uint(0xD7, _TRACK),  # TrackNumber
        _uint(0x73C5, _TRACK),  # TrackUID
        _uint(0x83, 1),  # TrackType: video
        _uint(0x9C, 0),  # FlagLacing: off
        _string(0x86, "V_MJPEG"),  # CodecID
        _element(_VIDEO, _uint(0xB0, width), _uint(0xBA, height)),  # PixelWidth, PixelHeight
    ]
    if frame_duration_ms:
        track.append(_uint(0x23E383, frame_duration_ms * 1_000_000))  # DefaultDuration, ns
    tracks = _element(_TRACKS, _element(_TRACK_ENTRY, *track))

    clusters = [
        (timestamp, _id(_CLUSTER) + _size(sum(map(len, parts))), parts)
        for timestamp, parts in _clusters(jpegs, pts_ms)
    ]
    # Cue positions are offsets from the Segment's data; the Cues sit before the Clusters, so
    # their own size must be known first: positions are written as fixed 8-byte integers.
    cues_body_size = len(_cue_point(0, 0)) * len(clusters)
    cues_size = len(_id(_CUES)) + len(_size(cues_body_size)) + cues_body_size
    position = len(info) + len(tracks) + cues_size
    cue_points = []
    for timestamp, cluster_head, parts in clusters:
        cue_points.append(_cue_point(timestamp, position))
        position += len(cluster_head) + sum(map(len, parts))
    cues = _element(_CUES, *cue_points)

    segment_size = position
    out = [_header(), _id(_SEGMENT), _size(segment_size), info, tracks, cues]
    for _, cluster_head, parts in clusters:
        out.append(cluster_head)
        out.extend(parts)
    return b"".join(out)


def _cue_point(timestamp: int, cluster_position: int) -> bytes:
    return _element(
        _CUE_POINT,
        _element(0xB3, timestamp.to_bytes(8, "big")),  # CueTime
        _element(
            _CUE_TRACK_POSITIONS,
            _uint(0xF7, _TRACK),  # CueTrack
            _element(0xF1, cluster_position.to_bytes(8, "big")),  # CueClusterPosition
        ),
    )

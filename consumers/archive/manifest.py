"""The manifest stored next to every chunk's video object, pure.

A JSON object (UTF-8, sorted keys) anyone can read without Vigie: which frames the video holds
(sequence, capture time in UTC microseconds, Kafka offset, presentation time in the video), the
sequence and offset ranges, where the frames came from, and the SHA-256 of the video object.
Frames left out of the video (undecodable) are listed under ``rejected`` with the reason, so
that a replay knows they were handled. The manifest is written after the video: a chunk exists
once its manifest does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumers.archive.chunker import Chunk
from consumers.archive.encode import EncodedChunk
from schemas.errors import VigieError
from schemas.records import ArchiveChunk

__all__ = ["MANIFEST_SCHEMA", "ManifestError", "archive_chunk_of", "build", "dumps", "loads"]

MANIFEST_SCHEMA = "vigie.archive.manifest/1"


class ManifestError(VigieError, ValueError):
    """Bytes that are not a Vigie chunk manifest."""


@dataclass(frozen=True, slots=True)
class ObjectNames:
    bucket: str
    video_key: str
    manifest_key: str


def build(
    chunk: Chunk,
    encoded: EncodedChunk,
    names: ObjectNames,
    video_sha256: str,
    stored_at: datetime,
) -> dict[str, Any]:
    """The manifest of a chunk whose video object is ``encoded``."""
    frames = encoded.frames
    return {
        "schema": MANIFEST_SCHEMA,
        "operator": chunk.operator,
        "camera_id": chunk.camera_id,
        "bucket": names.bucket,
        "video_key": names.video_key,
        "manifest_key": names.manifest_key,
        "window_start": chunk.window_start.isoformat(),
        "window_end": chunk.window_end.isoformat(),
        "part": chunk.part,
        "container": encoded.format.container,
        "codec": encoded.format.codec,
        "content_type": encoded.format.content_type,
        "width": encoded.width,
        "height": encoded.height,
        "video_sha256": video_sha256,
        "video_bytes": len(encoded.data),
        "source": {
            "topic": chunk.topic,
            "partition": chunk.partition,
            "first_offset": chunk.first_offset,
            "last_offset": chunk.last_offset,
        },
        "frame_count": len(frames),
        "first_sequence": min(f.sequence for f in frames),
        "last_sequence": max(f.sequence for f in frames),
        "frames": [
            {"sequence": f.sequence, "capture_us": f.capture_us, "offset": f.offset, "pts_ms": pts}
            for f, pts in zip(frames, encoded.pts_ms, strict=True)
        ],
        "rejected": [
            {
                "sequence": f.sequence,
                "capture_us": f.capture_us,
                "offset": f.offset,
                "reason": reason,
            }
            for f, reason in encoded.rejected
        ],
        "stored_at": stored_at.isoformat(),
    }


def dumps(manifest: Mapping[str, Any]) -> bytes:
    # Compact: with ``indent`` the json module falls back to its pure-Python encoder (4 times
    # slower on a 50-frame manifest, in the archiver's store path). ``jq`` pretty-prints.
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        raise ManifestError(f"not a {MANIFEST_SCHEMA} manifest")
    return manifest


def handled_offsets(manifest: Mapping[str, Any], topic: str, partition: int) -> set[int]:
    """The offsets of ``topic``/``partition`` this manifest accounts for (stored or rejected)."""
    source = manifest["source"]
    if source["topic"] != topic or source["partition"] != partition:
        return set()
    return {f["offset"] for f in manifest["frames"]} | {f["offset"] for f in manifest["rejected"]}


def archive_chunk_of(manifest: Mapping[str, Any]) -> ArchiveChunk:
    """The ``archive-chunks`` event announcing a stored chunk."""
    source = manifest["source"]
    return ArchiveChunk(
        operator=manifest["operator"],
        camera_id=manifest["camera_id"],
        bucket=manifest["bucket"],
        video_key=manifest["video_key"],
        manifest_key=manifest["manifest_key"],
        window_start=datetime.fromisoformat(manifest["window_start"]),
        window_end=datetime.fromisoformat(manifest["window_end"]),
        part=manifest["part"],
        first_sequence=manifest["first_sequence"],
        last_sequence=manifest["last_sequence"],
        frame_count=manifest["frame_count"],
        container=manifest["container"],
        codec=manifest["codec"],
        video_sha256=manifest["video_sha256"],
        video_bytes=manifest["video_bytes"],
        source_topic=source["topic"],
        source_partition=source["partition"],
        first_offset=source["first_offset"],
        last_offset=source["last_offset"],
        stored_at=datetime.fromisoformat(manifest["stored_at"]),
    )

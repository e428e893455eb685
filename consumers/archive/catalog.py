"""Which stored chunks of a camera cover a time range: listing by the key layout of
``schemas.storage`` (hour prefixes), windows from the keys and manifests. Blocking (minio-py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from minio import Minio

from consumers.archive import manifest as manifests
from schemas.storage import archive_bucket, archive_hour_prefixes, parse_archive_key

__all__ = ["MAX_WINDOW", "StoredChunk", "chunks_between", "read_manifest"]

MAX_WINDOW = timedelta(minutes=10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Longest chunk window looked back for: a chunk starting before the range may still cover it."""


@dataclass(frozen=True, slots=True)
class StoredChunk:
    bucket: str
    camera_id: str
    window_start: datetime
    window_end: datetime
    part: int
    video_key: str
    manifest_key: str
    manifest: dict[str, Any]

    @property
    def keys(self) -> tuple[str, str]:
        return (self.video_key, self.manifest_key)

    def captured_span(self) -> tuple[datetime, datetime]:
        """From its first frame's capture to just after its last one's (its manifest): what
        a right to the chunk must cover (its window may start before a grant, end after)."""
        times = [int(f["capture_us"]) for f in self.manifest.get("frames", [])]
        if not times:
            return self.window_start, self.window_end
        first = _EPOCH + timedelta(microseconds=min(times))
        return first, _EPOCH + timedelta(microseconds=max(times) + 1)


def read_manifest(client: Minio, bucket: str, key: str) -> dict[str, Any]:
    response = client.get_object(bucket, key)
    try:
        return manifests.loads(response.read())
    finally:
        response.close()
        response.release_conn()


def chunks_between(
    client: Minio, operator: str, camera_id: str, start: datetime, end: datetime
) -> list[StoredChunk]:
    """The stored chunks (those with a manifest) of a camera whose window overlaps
    [start, end), in window then part order."""
    bucket = archive_bucket(operator)
    found: list[StoredChunk] = []
    for prefix in archive_hour_prefixes(camera_id, start - MAX_WINDOW, end):
        for obj in client.list_objects(bucket, prefix=prefix):
            key = parse_archive_key(obj.object_name or "")
            if key is None or not key.is_manifest or key.camera_id != camera_id:
                continue
            if not start - MAX_WINDOW <= key.window_start < end:
                continue
            manifest = read_manifest(client, bucket, obj.object_name or "")
            window_end = datetime.fromisoformat(manifest["window_end"])
            if window_end <= start:
                continue
            found.append(
                StoredChunk(
                    bucket=bucket,
                    camera_id=camera_id,
                    window_start=key.window_start,
                    window_end=window_end,
                    part=key.part,
                    video_key=manifest["video_key"],
                    manifest_key=obj.object_name or "",
                    manifest=manifest,
                )
            )
    return sorted(found, key=lambda c: (c.window_start, c.part))

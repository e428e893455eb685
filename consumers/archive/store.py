"""The MinIO edge of the archiver: chunk objects in, manifests of a window out.

Blocking (minio-py): the archiver calls it from worker threads. Writes are idempotent on the
deterministic keys of ``schemas.storage``: the video first, then the manifest, which is the
chunk's commit marker (a chunk exists once its manifest does).

Every PUT carries the SHA-256 of its body (``x-amz-checksum-sha256``), which MinIO checks,
refusing a body that does not match: the hash the manifest records is the one MinIO verified.
It replaces minio-py's own check, a Content-MD5 it computes over every body sent over HTTPS: a
second hash of the same bytes (about 1.7 s of one core per GB here, the archiver's largest
single cost in bench/archive_bench.py).
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import threading
from datetime import datetime
from typing import Any

import urllib3
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.error import MinioException
from minio.helpers import DictType

from consumers.archive import manifest as manifests
from consumers.archive.catalog import read_manifest
from consumers.archive.chunker import Chunk
from consumers.archive.encode import EncodedChunk
from runtime.connection import Connection, minio_http
from schemas.storage import (
    archive_bucket,
    archive_hour_prefix,
    archive_manifest_key,
    archive_object_key,
    archive_window_prefix,
    parse_archive_key,
)

__all__ = ["CHECKSUM_HEADER", "STORE_ERRORS", "ChunkStore", "archiver_client", "checksummed"]

logger = logging.getLogger(__name__)

STORE_ERRORS: tuple[type[Exception], ...] = (MinioException, urllib3.exceptions.HTTPError, OSError)
"""What a MinIO call raises when the server is down, slow or refuses: retry later."""


CHECKSUM_HEADER = "x-amz-checksum-sha256"
"""The body's SHA-256 (base64), which the server checks (S3 additional checksums)."""


class _ChecksummedMinio(Minio):
    """minio-py, except that a request carrying the body's SHA-256 in ``CHECKSUM_HEADER`` is
    not hashed again for a Content-MD5.

    Over HTTPS minio-py signs ``UNSIGNED-PAYLOAD`` and adds a Content-MD5 of the body for the
    server to check (``Minio._build_headers``, minio 7.2): a body with ``CHECKSUM_HEADER`` is
    checked by the server against that SHA-256 instead. Over plain HTTP the signature covers
    the body's SHA-256, so nothing is skipped there.
    """

    def _build_headers(
        self,
        host: str,
        headers: DictType | None = None,
        body: bytes | None = None,
        creds: Credentials | None = None,
    ) -> tuple[DictType, datetime]:
        if not (body and headers and CHECKSUM_HEADER in headers and self._base_url.is_https):
            return super()._build_headers(host, headers, body, creds)
        built, date = super()._build_headers(host, headers, None, creds)
        built["Content-Length"] = str(len(body))
        return built, date


def checksummed(sha256: bytes) -> DictType:
    """The PUT metadata that has the server check the body against its SHA-256 digest."""
    return {CHECKSUM_HEADER: base64.b64encode(sha256).decode()}


def archiver_client(connection: Connection, pool_size: int = 8) -> Minio:
    """A MinIO client with short timeouts and few retries: the archiver has its own backoff
    and must notice an outage quickly instead of hanging in a request. A PUT with
    :func:`checksummed` metadata is checked by the server against that SHA-256 (and not
    hashed again by the client)."""
    http = minio_http(
        connection,
        timeout=urllib3.Timeout(connect=3.0, read=30.0),
        maxsize=pool_size,
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    return _ChecksummedMinio(
        connection.minio_endpoint,
        access_key=connection.minio_access_key,
        secret_key=connection.minio_secret_key,
        secure=True,
        http_client=http,
    )


class ChunkStore:
    def __init__(self, client: Minio) -> None:
        self.client = client
        self._listed: dict[tuple[str, str], list[str]] = {}
        self._generation = 0
        """Counts the forgets: a listing a worker thread took before one is not kept."""
        self._lock = threading.Lock()

    def stored_manifests(self, chunk: Chunk) -> list[dict[str, Any]]:
        """The stored manifests of the chunk's camera and window.

        Only asked for chunks a replay re-read, about what earlier runs stored: the listing
        of a camera's hour is taken once and kept until :meth:`forget_listings` (an earlier
        run's objects all exist by then), so a replayed backlog costs one LIST per
        camera-hour, not one per chunk."""
        bucket = archive_bucket(chunk.operator)
        hour = archive_hour_prefix(chunk.camera_id, chunk.window_start)
        with self._lock:
            keys = self._listed.get((bucket, hour))
            generation = self._generation
        if keys is None:
            keys = [o.object_name or "" for o in self.client.list_objects(bucket, prefix=hour)]
            with self._lock:
                if generation == self._generation:  # not a listing taken before a forget
                    self._listed[(bucket, hour)] = keys
        prefix = archive_window_prefix(chunk.camera_id, chunk.window_start)
        found: list[dict[str, Any]] = []
        for name in keys:
            # The cheap prefix test first: parsing every key of the hour costs ms per call.
            if not name.startswith(prefix):
                continue
            key = parse_archive_key(name)
            if key is not None and key.is_manifest:
                found.append(read_manifest(self.client, bucket, name))
        return found

    def forget_listings(self) -> None:
        """Drop the kept listings: after a rebalance another archiver may have stored chunks
        of those hours (and died before committing them), which a replay must find."""
        with self._lock:
            self._listed.clear()
            self._generation += 1

    def put(self, chunk: Chunk, encoded: EncodedChunk, stored_at: datetime) -> dict[str, Any]:
        """Store the video object then the manifest; returns the manifest."""
        bucket = archive_bucket(chunk.operator)
        names = manifests.ObjectNames(
            bucket=bucket,
            video_key=archive_object_key(
                chunk.camera_id, chunk.window_start, chunk.part, encoded.format.ext
            ),
            manifest_key=archive_manifest_key(chunk.camera_id, chunk.window_start, chunk.part),
        )
        digest = hashlib.sha256(encoded.data).digest()
        manifest = manifests.build(chunk, encoded, names, digest.hex(), stored_at)
        body = manifests.dumps(manifest)
        self.client.put_object(
            bucket,
            names.video_key,
            io.BytesIO(encoded.data),
            len(encoded.data),
            content_type=encoded.format.content_type,
            metadata={"x-amz-meta-vigie-sha256": digest.hex(), **checksummed(digest)},
        )
        self.client.put_object(
            bucket,
            names.manifest_key,
            io.BytesIO(body),
            len(body),
            content_type="application/json",
            metadata=checksummed(hashlib.sha256(body).digest()),
        )
        logger.debug("chunk %s/%s stored (%d frames)", bucket, names.video_key, len(encoded.frames))
        return manifest

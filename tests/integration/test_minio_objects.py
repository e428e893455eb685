"""Objects are written to and read back from the real MinIO; archive buckets are created with
object lock (which can only be enabled at creation)."""

from __future__ import annotations

import hashlib
import io

from minio import Minio

from infra.provision import ensure_buckets
from schemas.storage import archive_bucket


def test_object_written_is_read_back_identical(minio_client: Minio, unique: str) -> None:
    bucket = archive_bucket(f"op-{unique}")
    ensure_buckets(minio_client, [bucket])
    payload = hashlib.sha256(unique.encode()).digest() * 40_000  # ~1.3 MB, more than one part
    key = f"cam-a/2026/11/26/12/{unique}.bin"
    minio_client.put_object(bucket, key, io.BytesIO(payload), len(payload))
    response = minio_client.get_object(bucket, key)
    try:
        assert response.read() == payload
    finally:
        response.close()
        response.release_conn()


def test_archive_buckets_are_created_once_with_object_lock_and_versioning(
    minio_client: Minio, unique: str
) -> None:
    bucket = archive_bucket(f"op-{unique}")
    assert ensure_buckets(minio_client, [bucket]) == [bucket]
    assert ensure_buckets(minio_client, [bucket]) == []
    # Raises if object lock is not enabled on the bucket.
    minio_client.get_object_lock_config(bucket)
    assert minio_client.get_bucket_versioning(bucket).status == "Enabled"

"""MinIO enforces who may do what to the archive, with independent clients (minio-py with the
attacker's own credentials): the archiver's user may store but not delete; an operator's user
reads its own archive and not another's; plain HTTP gets no answer."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

import pytest
from minio import Minio
from minio.error import S3Error

from infra.provision import (
    ensure_buckets,
    ensure_operator_user,
    ensure_service_user,
    set_archive_retention,
)
from runtime import connection
from runtime.connection import Connection
from schemas.security import MINIO_ARCHIVER, MINIO_EVIDENCE, MINIO_RETRIEVAL
from schemas.storage import archive_bucket

pytestmark = pytest.mark.integration


def _as(conn: Connection, access_key: str, secret_key: str) -> Minio:
    return connection.minio_client(
        dataclasses.replace(conn, minio_access_key=access_key, minio_secret_key=secret_key)
    )


async def test_the_archiver_stores_but_cannot_delete_or_change_policies(
    live_stack: Connection, minio_client: Minio
) -> None:
    bucket = archive_bucket(f"sec-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(ensure_buckets, minio_client, [bucket])
    user = await asyncio.to_thread(
        ensure_service_user,
        connection.minio_admin(live_stack),
        connection.state_dir(),
        MINIO_ARCHIVER,
    )
    await asyncio.sleep(0.5)  # IAM changes reach the S3 API asynchronously
    archiver = _as(live_stack, user.access_key, user.secret_key)
    await asyncio.to_thread(archiver.put_object, bucket, "cam/chunk.mkv", io.BytesIO(b"x"), 1)
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(archiver.remove_object, bucket, "cam/chunk.mkv")
    assert refused.value.code == "AccessDenied"
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(archiver.delete_bucket_lifecycle, bucket)
    assert refused.value.code == "AccessDenied"
    stored = await asyncio.to_thread(minio_client.stat_object, bucket, "cam/chunk.mkv")
    assert stored.size == 1
    # Encrypted at rest by the server's KMS.
    assert stored.metadata is not None
    assert stored.metadata.get("x-amz-server-side-encryption") == "AES256", stored.metadata


async def test_an_operator_reads_its_own_archive_and_not_anothers(
    live_stack: Connection, minio_client: Minio
) -> None:
    a, b = f"sec-a-{uuid.uuid4().hex[:6]}", f"sec-b-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(ensure_buckets, minio_client, [archive_bucket(a), archive_bucket(b)])
    for op in (a, b):
        await asyncio.to_thread(
            minio_client.put_object, archive_bucket(op), "cam/x", io.BytesIO(b"frame"), 5
        )
    admin = connection.minio_admin(live_stack)
    creds = await asyncio.to_thread(ensure_operator_user, admin, connection.state_dir(), a)
    await asyncio.sleep(0.5)
    own = _as(live_stack, creds.access_key, creds.secret_key)
    response = await asyncio.to_thread(own.get_object, archive_bucket(a), "cam/x")
    assert response.read() == b"frame"
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(own.get_object, archive_bucket(b), "cam/x")
    assert refused.value.code == "AccessDenied"


async def test_an_archived_version_cannot_be_deleted_before_the_legal_period_not_even_by_root(
    minio_client: Minio,
) -> None:
    bucket = archive_bucket(f"sec-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(ensure_buckets, minio_client, [bucket])
    await asyncio.to_thread(set_archive_retention, minio_client, bucket, 30)
    first = await asyncio.to_thread(
        minio_client.put_object, bucket, "cam/chunk.mkv", io.BytesIO(b"evidence"), 8
    )
    # An overwrite is a new version: the first one stays, locked.
    await asyncio.to_thread(
        minio_client.put_object, bucket, "cam/chunk.mkv", io.BytesIO(b"forgery!"), 8
    )
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(
            minio_client.remove_object, bucket, "cam/chunk.mkv", version_id=first.version_id
        )
    assert "WORM protected" in (refused.value.message or ""), refused.value  # the server says
    kept = await asyncio.to_thread(
        minio_client.get_object, bucket, "cam/chunk.mkv", version_id=first.version_id
    )
    assert kept.read() == b"evidence"


def test_minio_answers_only_over_tls(live_stack: Connection) -> None:
    url = f"http://{live_stack.minio_endpoint}/minio/health/ready"
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url, timeout=5).read()


async def test_retrieval_reads_and_evidence_holds_but_neither_writes_nor_deletes(
    live_stack: Connection, minio_client: Minio
) -> None:
    """The users the services use after a grant check: retrieval reads a chunk, never writes
    or deletes; the evidence user holds a chunk and reads its manifest, never its images."""
    bucket = archive_bucket(f"sec-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(ensure_buckets, minio_client, [bucket])
    for key, body in (("cam/c.mkv", b"images"), ("cam/c.json", b"{}")):
        await asyncio.to_thread(minio_client.put_object, bucket, key, io.BytesIO(body), len(body))
    admin, state = connection.minio_admin(live_stack), connection.state_dir()
    users = {}
    for name in (MINIO_RETRIEVAL, MINIO_EVIDENCE):
        user = await asyncio.to_thread(ensure_service_user, admin, state, name)
        users[name] = _as(live_stack, user.access_key, user.secret_key)
    await asyncio.sleep(0.5)
    retrieval, evidence = users[MINIO_RETRIEVAL], users[MINIO_EVIDENCE]

    assert (await asyncio.to_thread(retrieval.get_object, bucket, "cam/c.mkv")).read() == b"images"
    refusals: list[Callable[[], object]] = [
        lambda: retrieval.put_object(bucket, "cam/forged.mkv", io.BytesIO(b"x"), 1),
        lambda: retrieval.remove_object(bucket, "cam/c.mkv"),
        lambda: retrieval.enable_object_legal_hold(bucket, "cam/c.mkv"),
        lambda: evidence.get_object(bucket, "cam/c.mkv"),
        lambda: evidence.put_object(bucket, "cam/forged.mkv", io.BytesIO(b"x"), 1),
        lambda: evidence.remove_object(bucket, "cam/c.mkv"),
    ]
    for number, call in enumerate(refusals):
        with pytest.raises(S3Error) as refused:
            await asyncio.to_thread(call)
        assert refused.value.code == "AccessDenied", (number, refused.value)

    assert (await asyncio.to_thread(evidence.get_object, bucket, "cam/c.json")).read() == b"{}"
    await asyncio.to_thread(evidence.enable_object_legal_hold, bucket, "cam/c.mkv")
    assert await asyncio.to_thread(minio_client.is_object_legal_hold_enabled, bucket, "cam/c.mkv")

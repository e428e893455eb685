"""Signed audit records and continuous anchoring, on the real Kafka and MinIO: the audit
archiver service anchors what the sealer writes, under its own principals; `vigie audit verify`
finds a record forged without the sealer's key, records cut from the topic after anchoring, and
a topic written again after anchoring.

The tests that forge, cut or rewrite use a topic and a bucket of their own (the real `audit`
topic is read by every other test's `vigie audit verify`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import RecordsToDelete
from aiokafka.errors import TopicAlreadyExistsError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from minio import Minio
from minio.error import S3Error

from consumers.audit.commands import archive_trail, verify_trail
from infra.provision import ensure_buckets, ensure_service_user
from runtime import connection, kafka_clients
from runtime.connection import Connection, state_dir
from runtime.topic_reader import read_partitions
from schemas.audit_trail import anchor_key
from schemas.security import MINIO_AUDITOR
from schemas.storage import AUDIT_BUCKET
from schemas.topics import AUDIT
from tests.integration.audit_support import append_sealed, create_topic, delete_topic
from tests.support import run_vigie
from vigie.provisioning import provision_operator_topics


@pytest.fixture
def own_trail(
    live_stack: Connection, kafka_bootstrap: str, minio_client: Minio, unique: str
) -> Iterator[tuple[str, str]]:
    """A topic and an object-locked bucket standing in for `audit` and `vigie-audit`."""
    topic, bucket = f"audit-test-{unique}", f"vigie-audit-{unique}"
    asyncio.run(create_topic(kafka_bootstrap, topic))
    ensure_buckets(minio_client, [bucket])
    yield topic, bucket
    asyncio.run(delete_topic(kafka_bootstrap, topic))


async def _verify(
    conn: Connection, client: Minio, topic: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    code = await verify_trail(conn, state_dir(), client=client, topic=topic, bucket=bucket)
    return code, capsys.readouterr().out


async def _archive(conn: Connection, client: Minio, topic: str, bucket: str) -> None:
    assert await archive_trail(conn, state_dir(), client=client, topic=topic, bucket=bucket) == 0


async def test_a_record_signed_without_the_sealers_key_fails_verify(
    live_stack: Connection,
    kafka_bootstrap: str,
    minio_client: Minio,
    own_trail: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client that can write the topic and compute hashes still cannot pass as the sealer."""
    topic, bucket = own_trail
    await append_sealed(kafka_bootstrap, 3, topic=topic)
    code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)
    assert code == 0, out
    assert "3 records (3 signed by key" in out

    await append_sealed(
        kafka_bootstrap, 1, topic=topic, key=Ed25519PrivateKey.generate(), reason="forged"
    )
    code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)

    assert code == 1
    assert f"{topic}[0]: BROKEN: offset 3: signed with key" in out
    assert "not published: not written by the sealer" in out


async def test_records_deleted_from_the_topic_after_anchoring_are_found(
    live_stack: Connection,
    kafka_bootstrap: str,
    minio_client: Minio,
    own_trail: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """kafka-delete-records (what an admin could do to hide a record) is found: before the
    anchor as a chain that no longer starts at genesis, past it as a cut."""
    topic, bucket = own_trail
    await append_sealed(kafka_bootstrap, 4, topic=topic)
    await _archive(live_stack, minio_client, topic, bucket)
    code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)
    assert code == 0, out
    assert "anchored up to offset 3" in out

    admin = kafka_clients.admin(kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(2)})
        code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)
        assert code == 1
        assert f"{topic}[0]: BROKEN: offset 2: " in out
        assert "previous_hash does not match the hash of the chain start" in out

        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(4)})
    finally:
        await admin.close()
    code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)
    assert code == 1
    assert "offset 3 was anchored: records cut" in out or "after the anchored offset 3" in out


async def test_a_topic_written_again_after_anchoring_is_found(
    live_stack: Connection,
    kafka_bootstrap: str,
    minio_client: Minio,
    own_trail: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Deleting the topic and writing a new, intact and even validly signed chain in its place
    does not pass: the anchored offset holds another record."""
    topic, bucket = own_trail
    await append_sealed(kafka_bootstrap, 4, topic=topic)
    await _archive(live_stack, minio_client, topic, bucket)

    await delete_topic(kafka_bootstrap, topic)
    deadline = time.monotonic() + 60
    while True:
        try:
            await create_topic(kafka_bootstrap, topic)
            if not (await read_partitions(kafka_bootstrap, topic))[0]:
                break
        except TopicAlreadyExistsError:
            pass
        assert time.monotonic() < deadline, "the topic was not deleted"
        await asyncio.sleep(0.5)
    await append_sealed(kafka_bootstrap, 5, topic=topic, reason="rewritten")

    code, out = await _verify(live_stack, minio_client, topic, bucket, capsys)

    assert code == 1
    assert f"{topic}[0]: BROKEN: offset 3 holds record_hash" in out
    assert "rewritten after anchoring" in out


@contextlib.contextmanager
def _service(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vigie", "audit", "archive", "--follow", "--interval", "0.5"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _wait_for_object(client: Minio, bucket: str, key: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await asyncio.to_thread(client.stat_object, bucket, key)
            return
        except S3Error:
            assert time.monotonic() < deadline, f"{bucket}/{key} never appeared"
            await asyncio.sleep(0.5)


async def test_the_audit_archiver_service_anchors_new_records_as_its_own_principals(
    live_stack: Connection, kafka_bootstrap: str, minio_client: Minio, tmp_path: Path
) -> None:
    """Started once, it anchors each record the sealer appends within seconds; its MinIO user
    can add to the audit bucket but neither read nor delete what is there."""
    await provision_operator_topics(kafka_bootstrap, [])
    await asyncio.to_thread(ensure_buckets, minio_client, [AUDIT_BUCKET])
    auditor = await asyncio.to_thread(
        ensure_service_user, connection.minio_admin(live_stack), state_dir(), MINIO_AUDITOR
    )
    log = tmp_path / "audit-archiver.log"
    with _service(log) as service:
        await append_sealed(kafka_bootstrap, 2, reason="followed")
        last = (await read_partitions(kafka_bootstrap, AUDIT, [0]))[0][-1].offset
        await _wait_for_object(minio_client, AUDIT_BUCKET, anchor_key(0, last))
        assert service.poll() is None, log.read_text()

        verify = await asyncio.to_thread(run_vigie, "audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert f"{AUDIT}[0]: " in verify.stdout
        assert f"anchored up to offset {last}" in verify.stdout

    assert service.returncode == 0, log.read_text()

    as_auditor = connection.minio_client(
        Connection(
            kafka_bootstrap=live_stack.kafka_bootstrap,
            minio_endpoint=live_stack.minio_endpoint,
            minio_access_key=auditor.access_key,
            minio_secret_key=auditor.secret_key,
            minio_ca_file=live_stack.minio_ca_file,
        )
    )
    key = anchor_key(0, last)
    with pytest.raises(S3Error) as refused_read:
        await asyncio.to_thread(as_auditor.get_object, AUDIT_BUCKET, key)
    assert refused_read.value.code == "AccessDenied"
    versions = list(minio_client.list_objects(AUDIT_BUCKET, prefix=key, include_version=True))
    with pytest.raises(S3Error) as refused_delete:
        await asyncio.to_thread(
            as_auditor.remove_object, AUDIT_BUCKET, key, version_id=versions[0].version_id
        )
    assert refused_delete.value.code == "AccessDenied"
    retention = await asyncio.to_thread(minio_client.get_object_retention, AUDIT_BUCKET, key)
    assert retention is not None
    assert retention.mode == "COMPLIANCE"

"""Writing to an audit topic the way the sealer does, for the audit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka.admin import NewTopic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime import kafka_clients
from runtime.audit_keys import load_or_create_signing_key
from runtime.connection import state_dir
from runtime.topic_reader import read_partitions
from schemas.audit_chain import seal, sign
from schemas.audit_trail import read_trail
from schemas.codec import AUDIT_RECORD
from schemas.records import AuditAction, AuditRecord
from schemas.topics import AUDIT
from tests.builders import kafka_producer


def sealer_key() -> Ed25519PrivateKey:
    """The sealer's key of the test state folder (the policy workers' key)."""
    return load_or_create_signing_key(state_dir())


def audit_draft(reason: str) -> AuditRecord:
    return AuditRecord(
        audit_id=f"test-{uuid.uuid4().hex}", time=datetime.now(UTC), actor="test",
        operator="op-test", action=AuditAction.ARCHIVE_RETRIEVAL, reason=reason,
        details={}, previous_hash=b"", record_hash=b"",
    )  # fmt: skip


async def append_sealed(
    bootstrap: str,
    count: int,
    *,
    topic: str = AUDIT,
    key: Ed25519PrivateKey | None = None,
    reason: str = "record",
) -> list[AuditRecord]:
    """Append `count` records to partition 0 of `topic` as the sealer does: chained onto its head
    (junk skipped by the one rule) and signed (by the sealer's key unless `key` is given)."""
    signing_key = key or sealer_key()
    records = (await read_partitions(bootstrap, topic, [0]))[0]
    head = read_trail((r.offset, r.value) for r in records).head
    out = []
    async with kafka_producer(bootstrap, client_id="test-audit") as producer:
        for i in range(count):
            sealed = sign(seal(audit_draft(f"{reason} {i}"), head), signing_key)
            await producer.send_and_wait(
                topic, key=b"op-test", value=AUDIT_RECORD.encode(sealed), partition=0
            )
            head = sealed.record_hash
            out.append(sealed)
    return out


async def create_topic(bootstrap: str, name: str) -> None:
    """A one-partition topic standing in for `audit` (tests that cut or rewrite it must not
    touch the real one, which every other test's `vigie audit verify` reads)."""
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"retention.ms": "-1"})])
        for _ in range(100):
            described = await admin.describe_topics([name])
            if described[0]["error_code"] == 0 and described[0]["partitions"]:
                return
    finally:
        await admin.close()


async def delete_topic(bootstrap: str, name: str) -> None:
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()

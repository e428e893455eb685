"""Audit drafts of archive actions (legal hold, release, retrieval, export).

Drafts go to ``audit-drafts``, keyed by operator; the policy workers' sealer chains them onto
``audit`` (one writer per chain), so hashes are left empty here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from aiokafka.errors import KafkaError

from runtime import kafka_clients
from schemas.codec import AUDIT_RECORD
from schemas.errors import VigieError
from schemas.records import AuditAction, AuditRecord
from schemas.topics import AUDIT_DRAFTS

__all__ = ["AuditNotWritten", "draft", "publish"]


def draft(
    *,
    actor: str,
    operator: str,
    action: AuditAction,
    reason: str,
    details: Mapping[str, str],
    subject_operator: str | None = None,
    camera_id: str | None = None,
    incident_id: str | None = None,
    legal_basis: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        audit_id=uuid.uuid4().hex,
        time=datetime.now(UTC),
        actor=actor,
        operator=operator,
        action=action,
        subject_operator=subject_operator,
        camera_id=camera_id,
        incident_id=incident_id,
        legal_basis=legal_basis,
        reason=reason,
        details=dict(details),
        previous_hash=b"",
        record_hash=b"",
    )


PUBLISH_TIMEOUT_S = 15.0


class AuditNotWritten(VigieError):
    """The audit drafts could not be written: the act they record must not happen."""


async def publish(bootstrap: str, drafts: Sequence[AuditRecord]) -> None:
    """Send the drafts and wait for the broker's acknowledgement of each; AuditNotWritten
    if that does not happen within PUBLISH_TIMEOUT_S (Kafka unreachable)."""
    try:
        await asyncio.wait_for(_publish(bootstrap, drafts), PUBLISH_TIMEOUT_S)
    except (TimeoutError, KafkaError) as exc:
        raise AuditNotWritten(
            f"the audit trail cannot be written now ({type(exc).__name__}); nothing was done"
        ) from exc


async def _publish(bootstrap: str, drafts: Sequence[AuditRecord]) -> None:
    producer = kafka_clients.producer(bootstrap, client_id="vigie-archive-audit")
    await producer.start()
    try:
        for record in drafts:
            await producer.send_and_wait(
                AUDIT_DRAFTS, key=record.operator.encode(), value=AUDIT_RECORD.encode(record)
            )
    finally:
        await producer.stop()

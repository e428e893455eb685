"""The room's writes to Kafka, as the room principal: incident commands and audit drafts.

Both are waited for: a command is accepted once the broker holds it (the policy decides and
audits it), and an access is served only once its audit draft is on the broker. If the audit
cannot be written within `AUDIT_TIMEOUT_S`, :class:`AuditUnavailable` is raised and the act is
refused: nothing is seen unaudited.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer

from runtime import kafka_clients
from schemas.codec import AUDIT_RECORD, INCIDENT_COMMAND
from schemas.errors import VigieError
from schemas.records import AuditRecord, IncidentCommand
from schemas.topics import AUDIT_DRAFTS, INCIDENT_COMMANDS

__all__ = ["AUDIT_TIMEOUT_S", "AuditUnavailable", "RoomUnavailable", "RoomWriter"]

logger = logging.getLogger(__name__)

AUDIT_TIMEOUT_S = 5.0


class RoomUnavailable(VigieError):
    """Kafka cannot take the room's write now: the request is refused (HTTP 503)."""


class AuditUnavailable(RoomUnavailable):
    """The audit trail cannot be written now: the act it would record is refused."""


class RoomWriter:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._started = False

    async def start(self) -> None:
        # Default identity: the room process acts as the room principal (vigie-room).
        producer = kafka_clients.producer(self._bootstrap, client_id="vigie-room", linger_ms=0)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer, self._started = producer, True

    async def stop(self) -> None:
        self._started = False
        if self._producer is not None:
            await self._producer.stop()

    async def audit(self, draft: AuditRecord) -> None:
        """Put `draft` on `audit-drafts` and wait for the broker; AuditUnavailable if not."""
        if self._producer is None or not self._started:
            raise AuditUnavailable("the audit trail is not reachable yet (Kafka); try again")
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    AUDIT_DRAFTS, key=draft.operator.encode(), value=AUDIT_RECORD.encode(draft)
                ),
                AUDIT_TIMEOUT_S,
            )
        except Exception as exc:  # any failure means: not audited
            logger.exception("audit draft %s not written", draft.audit_id)
            raise AuditUnavailable(
                "the audit trail cannot be written now; nothing is shown unaudited"
            ) from exc

    async def command(self, record: IncidentCommand) -> int:
        """Send an incident command; its offset once the broker holds it."""
        if self._producer is None or not self._started:
            raise RoomUnavailable("Kafka is not reachable yet; the command was not sent")
        try:
            metadata = await asyncio.wait_for(
                self._producer.send_and_wait(
                    INCIDENT_COMMANDS,
                    key=record.incident_id.encode(),
                    value=INCIDENT_COMMAND.encode(record),
                ),
                AUDIT_TIMEOUT_S,
            )
        except Exception as exc:
            logger.exception("command %s not sent", record.command_id)
            raise RoomUnavailable("Kafka did not take the command; it was not sent") from exc
        return int(metadata.offset)

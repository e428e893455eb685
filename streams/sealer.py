"""The audit sealer: partition p of `audit-drafts` chained onto partition p of `audit`.

One writer per chain: the consumer group gives each drafts partition to one member. Whenever a
partition is (re)assigned, its chain head and the ids already sealed are re-read from the audit
partition itself, before any draft of it is read (``streams.gapless``), so a redelivered draft is
never sealed twice and the chain never forks. Every sealed record is signed with the sealer's
Ed25519 key (``runtime.audit_keys``; format in ``schemas.audit_chain``). A draft that is not an
audit record goes to `dead-letter` with the reason; a junk record on `audit` is reported and
skipped by the rule `vigie audit verify` applies too (``schemas.audit_trail.read_trail``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runtime.dead_letters import send_dead_letter
from runtime.topic_reader import read_partitions
from schemas.audit_chain import seal, sign
from schemas.audit_trail import read_trail
from schemas.codec import AUDIT_RECORD, DecodeError
from schemas.records import AuditRecord
from schemas.topics import AUDIT, AUDIT_DRAFTS
from streams.gapless import GaplessConsumer

__all__ = ["AuditChains", "AuditSealer"]

logger = logging.getLogger(__name__)

STAGE = "policy-sealer"


class AuditChains:
    """Head hash and sealed ids of each audit partition this member writes; it signs what it
    seals with the sealer's key."""

    def __init__(self, signing_key: Ed25519PrivateKey) -> None:
        self._key = signing_key
        self._heads: dict[int, bytes] = {}
        self._sealed: dict[int, set[str]] = {}

    def recovered(self, partition: int, records: list[Any]) -> None:
        trail = read_trail((r.offset, r.value) for r in records)
        for junk in trail.junk:
            logger.warning(
                "%s[%d]@%d is not an audit record, skipped: %s",
                AUDIT,
                partition,
                junk.offset,
                junk.reason,
            )
        self._heads[partition] = trail.head
        self._sealed[partition] = {record.audit_id for _, record in trail.records}
        logger.info(
            "audit chain %d recovered: %d records, head %s",
            partition,
            len(trail.records),
            trail.head.hex(),
        )

    def forget(self, partition: int) -> None:
        self._heads.pop(partition, None)
        self._sealed.pop(partition, None)

    def seal(self, partition: int, draft: AuditRecord) -> AuditRecord | None:
        """The sealed record to append, or None if this draft was sealed already."""
        if draft.audit_id in self._sealed[partition]:
            return None
        return sign(seal(draft, self._heads[partition]), self._key)

    def appended(self, partition: int, record: AuditRecord) -> None:
        self._heads[partition] = record.record_hash
        self._sealed[partition].add(record.audit_id)


class AuditSealer:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        producer: AIOKafkaProducer,
        signing_key: Ed25519PrivateKey,
    ) -> None:
        self._bootstrap = bootstrap
        self._producer = producer
        self.chains = AuditChains(signing_key)
        self.member = GaplessConsumer(
            bootstrap=bootstrap,
            group_id=group_id,
            topic=AUDIT_DRAFTS,
            on_assigned=self._recover,
            on_revoked=self._forget,
            client_id=f"{group_id}-sealer",
        )

    async def _recover(self, assigned: set[TopicPartition]) -> None:
        partitions = sorted(tp.partition for tp in assigned)
        if not partitions:
            return
        for partition, records in (
            await read_partitions(self._bootstrap, AUDIT, partitions)
        ).items():
            self.chains.recovered(partition, records)

    async def _forget(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.chains.forget(tp.partition)

    async def run(self, stop: asyncio.Event) -> None:
        await self.member.consume(stop, self._seal_batch)

    async def _seal_batch(
        self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        for tp, records in batch.items():
            await self._seal(tp.partition, records)

    async def _seal(self, partition: int, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Chain the drafts in order; the records of the run are sent together and the run
        counts as done once every one is acknowledged (a failed send fails the run)."""
        acks: list[asyncio.Future[Any]] = []
        for message in records:
            try:
                draft = AUDIT_RECORD.decode(message.value or b"")
            except DecodeError as exc:
                acks.append(
                    await send_dead_letter(
                        self._producer,
                        message,
                        stage=STAGE,
                        error_kind="DecodeError",
                        reason=exc.reason,
                    )
                )
                continue
            sealed = self.chains.seal(partition, draft)
            if sealed is None:
                continue
            acks.append(
                await self._producer.send(
                    AUDIT, key=message.key, value=AUDIT_RECORD.encode(sealed), partition=partition
                )
            )
            self.chains.appended(partition, sealed)
        await asyncio.gather(*acks)

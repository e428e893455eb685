"""The incidents state machine on `incident-commands`: a thin loop around ``streams.incidents``.

One consumer group (the worker's app id) shares the command partitions; each incident's state is
kept on the compacted `incident-state` topic, partition p beside command partition p, and
rebuilt from there whenever partition p is assigned, before any of its commands is read
(``streams.gapless``). Per command: decide (pure), send the grants, incident events and audit
drafts and wait for their acks, *then* write the new state, then commit. A crash anywhere in
between re-decides the same command identically (its time is the broker's append time, its
``seq`` its offset), and a command at or before the state's ``last_seq`` is a redelivery.

A timer (:meth:`IncidentProcessor.tick`) lets time pass for the incidents of this member's
partitions: grace periods and agreement expiry, decided at the worker's clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import murmur2

from runtime.dead_letters import send_dead_letter
from runtime.topic_reader import read_partitions
from schemas.codec import GRANT, INCIDENT_COMMAND, INCIDENT_EVENT, DecodeError
from schemas.config import VigieConfig
from schemas.records import AuditRecord
from schemas.topics import GRANTS, INCIDENT_COMMANDS, INCIDENT_STATE, INCIDENTS, incidents_topic
from streams.commands import BadCommand, to_command
from streams.gapless import GaplessConsumer
from streams.incidents import Decision, Incident, IncidentStatus, handle, tick
from streams.incidents.audience import audience
from streams.state import StateError, decode_state, encode_state

__all__ = ["LOG_APPEND_TIME", "IncidentProcessor", "command_problem", "partition_for"]

logger = logging.getLogger(__name__)

STAGE = "policy"
LOG_APPEND_TIME = 1
"""Kafka's timestamp type of a record stamped by the broker (0 is the producer's CreateTime)."""

SendDraft = Callable[[AuditRecord], Awaitable[asyncio.Future[Any]]]


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` (murmur2, as every client)."""
    return (int(murmur2(key)) & 0x7FFFFFFF) % partitions


def command_problem(
    record: ConsumerRecord[bytes, bytes], incident_id: str, partitions: int
) -> str | None:
    """Why a decoded command cannot be trusted where it was found, if it cannot (pure)."""
    if record.timestamp_type != LOG_APPEND_TIME:
        return (
            f"{INCIDENT_COMMANDS} must use message.timestamp.type=LogAppendTime: a command's time"
            " comes from the broker, not from the client (re-provision the topic)"
        )
    if record.key != incident_id.encode():
        return f"message key {record.key!r} is not the command's incident id {incident_id!r}"
    expected = partition_for(record.key, partitions)
    if record.partition != expected:
        return (
            f"incident {incident_id} belongs on partition {expected}, not {record.partition}:"
            " its state and order live there"
        )
    return None


@dataclass
class ProcessorStats:
    commands: int = 0
    applied: int = 0
    refused: int = 0
    redelivered: int = 0
    dead_letters: int = 0


class IncidentProcessor:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        config: VigieConfig,
        grace_s: float,
        partitions: int,
        producer: AIOKafkaProducer,
        send_draft: SendDraft,
    ) -> None:
        self._bootstrap = bootstrap
        self._config = config
        self._operators = frozenset(o.id for o in config.operators)
        self._grace_s = grace_s
        self._partitions = partitions
        self._producer = producer
        self._send_draft = send_draft
        self.stats = ProcessorStats()
        self._states: dict[int, dict[str, Incident]] = {}
        self.member = GaplessConsumer(
            bootstrap=bootstrap,
            group_id=group_id,
            topic=INCIDENT_COMMANDS,
            on_assigned=self._restore,
            on_revoked=self._forget,
            client_id=f"{group_id}-incidents",
        )

    # ------------------------------------------------------------------ state

    async def _restore(self, assigned: set[TopicPartition]) -> None:
        partitions = sorted(tp.partition for tp in assigned)
        if not partitions:
            return
        by_partition = await read_partitions(self._bootstrap, INCIDENT_STATE, partitions)
        for partition, records in by_partition.items():
            # Compacted: only the latest record of an incident counts, earlier ones may be junk.
            latest: dict[str, Any] = {}
            for r in records:
                latest[(r.key or b"").decode(errors="replace")] = r
            states: dict[str, Incident] = {}
            for key, r in latest.items():
                if r.value is None:
                    continue
                try:
                    states[key] = decode_state(r.value)
                except StateError as exc:
                    # Going on without it would take a CLOSE for an unknown incident and leave
                    # its cameras shared: refuse to serve the partition instead.
                    raise StateError(
                        f"{INCIDENT_STATE}[{partition}]@{r.offset} (incident {key}): {exc};"
                        " this worker will not process the partition until the record is"
                        " replaced"
                    ) from exc
            self._states[partition] = states
            logger.info(
                "incident state of partition %d restored: %d incidents, %d open",
                partition,
                len(states),
                sum(s.status is IncidentStatus.OPEN for s in states.values()),
            )

    async def _forget(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self._states.pop(tp.partition, None)

    def incident(self, incident_id: str) -> Incident | None:
        for states in self._states.values():
            if incident_id in states:
                return states[incident_id]
        return None

    # ------------------------------------------------------------------ commands

    async def run(self, stop: asyncio.Event) -> None:
        await self.member.consume(stop, self._commands)

    async def _commands(
        self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        for records in batch.values():
            for record in records:
                await self._command(record)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], kind: str, reason: str
    ) -> None:
        self.stats.dead_letters += 1
        logger.warning(
            "%s[%d]@%d refused as malformed: %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
        await (
            await send_dead_letter(
                self._producer, record, stage=STAGE, error_kind=kind, reason=reason
            )
        )

    async def _command(self, record: ConsumerRecord[bytes, bytes]) -> None:
        self.stats.commands += 1
        try:
            wire = INCIDENT_COMMAND.decode(record.value or b"")
        except DecodeError as exc:
            await self._dead_letter(record, "DecodeError", exc.reason)
            return
        problem = command_problem(record, wire.incident_id, self._partitions)
        if problem is not None:
            await self._dead_letter(record, "BadCommand", problem)
            return
        at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        try:
            command = to_command(wire, at=at, seq=record.offset)
        except BadCommand as exc:
            await self._dead_letter(record, "BadCommand", str(exc))
            return
        states = self._states.setdefault(record.partition, {})
        before = states.get(command.incident_id)
        decision = handle(before, command, self._config, grace_s=self._grace_s)
        if decision.replay:
            self.stats.redelivered += 1
            logger.info("command %s redelivered: already applied", wire.command_id)
            return
        if decision.refusal is not None:
            self.stats.refused += 1
            logger.info(
                "command %s on incident %s refused: %s",
                wire.command_id,
                command.incident_id,
                decision.refusal.reason,
            )
        else:
            self.stats.applied += 1
        await self._apply(decision, before, record.partition)

    async def _apply(self, decision: Decision, before: Incident | None, partition: int) -> None:
        """Send what `decision` says and wait for the acks, then store the new state."""
        acks: list[asyncio.Future[Any]] = []
        for grant in decision.grants:
            acks.append(
                await self._producer.send(
                    GRANTS, key=grant.grant_id.encode(), value=GRANT.encode(grant)
                )
            )
        for event in decision.events:
            key, value = event.incident_id.encode(), INCIDENT_EVENT.encode(event)
            # The full stream for operations, and each concerned operator's own copy.
            topics = [INCIDENTS]
            topics += [
                incidents_topic(o)
                for o in sorted(
                    audience(event, before, decision.incident, decision.grants, self._operators)
                )
                if o in self._operators
            ]
            for topic in topics:
                acks.append(await self._producer.send(topic, key=key, value=value))
        for draft in decision.audit:
            acks.append(await self._send_draft(draft))
        await asyncio.gather(*acks)
        state = decision.incident
        if state is None or state is before:
            return
        await self._producer.send_and_wait(
            INCIDENT_STATE,
            key=state.incident_id.encode(),
            value=encode_state(state),
            partition=partition,
        )
        self._states.setdefault(partition, {})[state.incident_id] = state

    # ------------------------------------------------------------------ time

    async def tick(self, now: datetime | None = None) -> None:
        """Grace periods and expiry of the open incidents of this member's partitions."""
        at = now or datetime.now(UTC)
        async with self.member.lock:
            for partition, states in list(self._states.items()):
                for state in list(states.values()):
                    if state.status is IncidentStatus.CLOSED:
                        continue
                    decision = tick(state, self._config, at, grace_s=self._grace_s)
                    await self._apply(decision, state, partition)

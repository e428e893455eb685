"""The policy worker's agents: thin loops around the pure core.

- **incidents**: reads `incident-commands`, keeps each incident's state in a table (key =
  incident id), calls `streams.incidents.handle` and sends what it decides: grants (compacted
  `grants`, key = grant id), incident events (`incidents`), audit drafts (`audit-drafts`). A
  timer calls `tick` for the incidents of this worker's partitions (grace periods, expiry).
  Records are sent and acknowledged *before* the new state is written, so a crash in between
  re-decides the same command identically (its time is its `requested_at`): grants overwrite
  themselves, audit drafts carry the same id and are sealed once.
- **grant feed**: every worker reads the whole `grants` topic (all partitions, no group) into a
  `GrantIndex`, ready once caught up with the end offsets taken at start-up. Until then the
  router forwards nothing (fail closed). Each change of live forwarding is audited.
- **router**: `streams.router.Router`, a task of this worker with its own consumer group on
  `frames.*`, fed by the same grant index (why it is not a Faust agent: see its docstring).
- **audit sealer**: partition p of `audit-drafts` is chained onto partition p of `audit` (one
  writer per chain, the consumer group guarantees it). The chain head and the ids already sealed
  are re-read from the audit partition itself whenever the partition is (re)assigned, so a
  redelivered draft is never sealed twice and the chain never forks.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka.partitioner import murmur2

from schemas.codec import (
    AUDIT_RECORD,
    DEAD_LETTER,
    GRANT,
    INCIDENT_COMMAND,
    INCIDENT_EVENT,
    DecodeError,
)
from schemas.dead_letters import dead_letter_for
from schemas.records import AuditRecord
from schemas.topics import (
    AUDIT,
    AUDIT_DRAFTS,
    GRANTS,
    INCIDENT_COMMANDS,
    INCIDENTS,
)
from schemas.topics import (
    DEAD_LETTER as DEAD_LETTER_TOPIC,
)
from streams.app import PolicySettings
from streams.audit_chain import GENESIS, seal
from streams.commands import BadCommand, to_command
from streams.forwarding import forwarding_audit
from streams.incidents import Decision, Incident, IncidentStatus, handle, tick
from streams.policy import GrantIndex
from streams.router import Router
from vigie.topic_reader import partitions_of, read_partitions, reader

logger = logging.getLogger(__name__)

STAGE = "policy"
ROUTER_RESTART_S = 2.0


def _now() -> datetime:
    return datetime.now(UTC)


def _dead_letter(message: Any, error_kind: str, reason: str) -> bytes:
    letter = dead_letter_for(message, stage=STAGE, error_kind=error_kind, reason=reason)
    return DEAD_LETTER.encode(letter)


class AuditChains:
    """Head hash and sealed ids of each audit partition this worker writes."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._heads: dict[int, bytes] = {}
        self._sealed: dict[int, set[str]] = {}

    async def recover(self, partition: int) -> None:
        if partition in self._heads:
            return
        records = (await read_partitions(self._bootstrap, AUDIT, [partition]))[partition]
        head, sealed = GENESIS, set()
        for r in records:
            try:
                record = AUDIT_RECORD.decode(r.value or b"")
            except DecodeError as exc:
                logger.warning(
                    "audit partition %d offset %d is not an audit record: %s",
                    partition,
                    r.offset,
                    exc.reason,
                )
                continue
            head = record.record_hash
            sealed.add(record.audit_id)
        self._heads[partition] = head
        self._sealed[partition] = sealed
        logger.info(
            "audit chain %d recovered: %d records, head %s", partition, len(records), head.hex()
        )

    def forget(self) -> None:
        """Partitions may move to another worker: re-read the chain before writing again."""
        self._heads.clear()
        self._sealed.clear()

    def seal(self, partition: int, draft: AuditRecord) -> AuditRecord | None:
        """The sealed record to append, or None if this draft was sealed already."""
        if draft.audit_id in self._sealed[partition]:
            return None
        return seal(draft, self._heads[partition])

    def appended(self, partition: int, record: AuditRecord) -> None:
        self._heads[partition] = record.record_hash
        self._sealed[partition].add(record.audit_id)


class PolicyWorker:
    """Installs the agents, tables, timer and tasks of one policy worker on `app`."""

    def __init__(self, app: faust.App, settings: PolicySettings) -> None:
        self.app = app
        self.settings = settings
        self.config = settings.config
        self.index = GrantIndex()
        self.index_ready = asyncio.Event()
        self.chains = AuditChains(settings.bootstrap)
        self._incident_lock = asyncio.Lock()
        self.router: Router | None = None  # its Kafka clients need the worker's event loop
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.commands = app.topic(INCIDENT_COMMANDS, **raw)
        self.drafts = app.topic(AUDIT_DRAFTS, **raw)
        self.grants_out = app.topic(GRANTS, **raw)
        self.incidents_out = app.topic(INCIDENTS, **raw)
        self.audit_out = app.topic(AUDIT, **raw)
        self.dead_letters = app.topic(DEAD_LETTER_TOPIC, **raw)
        # Incident state by incident id. Keys are partitioned like the commands (same key
        # bytes, same default partitioner), so the timer may write the table too.
        self.incidents = app.Table(
            "incidents",
            partitions=settings.sizing.control_partitions,
            key_type=bytes,  # the incident id, UTF-8, as in the command key: raw on the wire
            value_type=bytes,
            use_partitioner=True,
            help="incident state by incident id (pickled streams.incidents.Incident)",
        )
        app.agent(self.commands, name="incidents", concurrency=1)(self._incident_agent)
        app.agent(self.drafts, name="audit-sealer", concurrency=1)(self._sealer_agent)
        app.timer(settings.tick_interval_s, name="incident-ticks")(self._tick)
        app.task(self._grant_feed)
        app.task(self._route)
        app.timer(10.0, name="router-stats")(self._log_stats)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)

    # ------------------------------------------------------------------ incidents

    def _state(self, incident_id: str) -> Incident | None:
        raw = self.incidents.get(incident_id.encode())
        if raw is None:
            return None
        state: Incident = pickle.loads(raw)
        return state

    async def _apply(self, decision: Decision, before: Incident | None) -> None:
        """Send what `decision` says and wait for the acks, then store the new state."""
        futures = []
        for grant in decision.grants:
            futures.append(
                await self.grants_out.send(key=grant.grant_id.encode(), value=GRANT.encode(grant))
            )
        for event in decision.events:
            futures.append(
                await self.incidents_out.send(
                    key=event.incident_id.encode(), value=INCIDENT_EVENT.encode(event)
                )
            )
        for draft in decision.audit:
            futures.append(await self._send_draft(draft))
        for fut in futures:
            await fut
        if decision.incident is not None and decision.incident is not before:
            self.incidents[decision.incident.incident_id.encode()] = pickle.dumps(decision.incident)

    async def _send_draft(self, draft: AuditRecord) -> Any:
        return await self.drafts.send(key=draft.operator.encode(), value=AUDIT_RECORD.encode(draft))

    async def _incident_agent(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                record = INCIDENT_COMMAND.decode(message.value or b"")
                command = to_command(record)
            except (DecodeError, BadCommand) as exc:
                reason = exc.reason if isinstance(exc, DecodeError) else str(exc)
                logger.warning("incident command refused as malformed: %s", reason)
                await self.dead_letters.send(
                    key=message.topic.encode(),
                    value=_dead_letter(message, type(exc).__name__, reason),
                )
                continue
            async with self._incident_lock:
                before = self._state(command.incident_id)
                decision = handle(before, command, self.config, grace_s=self.settings.grace_s)
                if decision.replay:
                    logger.info("command %s redelivered: already applied", record.command_id)
                    continue
                if decision.refusal is not None:
                    logger.info(
                        "command %s on incident %s refused: %s",
                        record.command_id,
                        command.incident_id,
                        decision.refusal.reason,
                    )
                await self._apply(decision, before)

    def _active_command_partitions(self) -> set[int]:
        return {
            tp.partition
            for tp in self.app.assignor.assigned_actives()
            if tp.topic == INCIDENT_COMMANDS
        }

    def _partition_of(self, incident_id: str) -> int:
        count = self.settings.sizing.control_partitions
        return (int(murmur2(incident_id.encode())) & 0x7FFFFFFF) % count

    async def _tick(self) -> None:
        mine = self._active_command_partitions()
        if not mine:
            return
        async with self._incident_lock:
            for key in list(self.incidents.keys()):
                incident_id = bytes(key).decode()
                if self._partition_of(incident_id) not in mine:
                    continue
                state = self._state(incident_id)
                if state is None or state.status is IncidentStatus.CLOSED:
                    continue
                decision = tick(state, self.config, _now(), grace_s=self.settings.grace_s)
                await self._apply(decision, state)

    # ------------------------------------------------------------------ grants

    async def _grant_feed(self) -> None:
        consumer = reader(self.settings.bootstrap, "vigie-policy-grants")
        await consumer.start()
        try:
            tps = await partitions_of(self.settings.bootstrap, GRANTS)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            logger.info("grant index: recovering %d records", sum(ends.values()))
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=1000)
                for records in batch.values():
                    for r in records:
                        await self._apply_grant_record(r)
                if not self.index.ready and all(
                    [await consumer.position(tp) >= ends[tp] for tp in tps]
                ):
                    self.index.mark_ready()
                    self.index_ready.set()
                    logger.info("grant index ready: %d grants", len(self.index))
        finally:
            await consumer.stop()

    async def _apply_grant_record(self, record: Any) -> None:
        if record.value is None:
            if record.key is not None:
                self.index.discard(record.key.decode())
            return
        try:
            grant = GRANT.decode(record.value)
        except DecodeError as exc:
            logger.warning("grants offset %d: %s", record.offset, exc.reason)
            await self.dead_letters.send(
                key=GRANTS.encode(), value=_dead_letter(record, "DecodeError", exc.reason)
            )
            return
        if self.index.apply(grant):
            await self._send_draft(forwarding_audit(grant))

    # ------------------------------------------------------------------ router

    async def _route(self) -> None:
        """Runs until the worker stops (the task is cancelled; the router closes its clients).
        A router that fails is started again: it resumes from its last committed offsets, so
        the frames of the failed batch are forwarded again, none is lost."""
        while True:
            self.router = Router(
                self.settings.bootstrap,
                f"{self.settings.app_id}-router",
                self.index,
                self.index_ready,
            )
            try:
                await self.router.run(asyncio.Event())
                return
            except Exception:
                logger.exception("router failed; starting it again in %.0f s", ROUTER_RESTART_S)
                await asyncio.sleep(ROUTER_RESTART_S)

    async def _log_stats(self) -> None:
        if self.router is None:
            return
        s = self.router.stats
        if s.frames:
            logger.info(
                "router: %d frames, %d forwarded, %d dead letters",
                s.frames,
                s.forwarded,
                s.dead_letters,
            )

    # ------------------------------------------------------------------ audit

    async def _sealer_agent(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                draft = AUDIT_RECORD.decode(message.value or b"")
            except DecodeError as exc:
                await self.dead_letters.send(
                    key=message.topic.encode(),
                    value=_dead_letter(message, "DecodeError", exc.reason),
                )
                continue
            partition = message.partition
            await self.chains.recover(partition)
            sealed = self.chains.seal(partition, draft)
            if sealed is None:
                continue
            fut = await self.audit_out.send(
                key=message.key, value=AUDIT_RECORD.encode(sealed), partition=partition
            )
            await fut
            self.chains.appended(partition, sealed)

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        self.chains.forget()

    async def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        by_topic: dict[str, list[int]] = {}
        for tp in self.app.assignor.assigned_actives():
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        mine = {topic: sorted(ps) for topic, ps in sorted(by_topic.items())}
        logger.info(
            "partitions assigned: incident-commands %s, audit-drafts %s",
            mine.get(INCIDENT_COMMANDS, []),
            mine.get(AUDIT_DRAFTS, []),
        )

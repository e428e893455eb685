"""One policy worker process: incidents, audit sealer, grant feed, router and the incident timer.

Workers with the same app id share the work through consumer groups: `<app id>` on
`incident-commands` (``streams.incident_processor``), `<app id>-sealer` on `audit-drafts`
(``streams.sealer``), `<app id>-router` on `grants` for the router's slots (the router reads
only the partitions of granted cameras, ``streams.router``). Every worker reads the whole
`grants` topic into a ``GrantIndex`` (fail closed until caught up); each change of live forwarding
it sees is audited (every worker drafts the same record, sealed once).

Each part runs as a task that is started again after a failure (its consumer leaves the group,
its state is rebuilt from Kafka on the next assignment, so nothing is lost or applied twice). A
worker stops on SIGTERM or SIGINT: the parts commit what they acknowledged and leave their
groups, so their partitions move to the other workers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from runtime import connection, kafka_clients
from runtime.audit_keys import load_or_create_signing_key
from runtime.dead_letters import send_dead_letter
from runtime.topic_reader import partitions_of, reader
from schemas.codec import AUDIT_RECORD, GRANT, DecodeError
from schemas.config import VigieConfig
from schemas.errors import VigieError
from schemas.placement import placement
from schemas.records import AuditRecord
from schemas.topics import AUDIT_DRAFTS, GRANTS, INCIDENT_COMMANDS, Sizing
from streams.forwarding import forwarding_audit
from streams.incident_processor import IncidentProcessor
from streams.incidents import DEFAULT_GRACE_S
from streams.policy import GrantIndex
from streams.router import Router
from streams.sealer import AuditSealer
from streams.state import StateError

__all__ = ["DEFAULT_APP_ID", "PolicySettings", "PolicyWorker", "WorkerFailed", "WorkerSetupError"]

logger = logging.getLogger(__name__)

DEFAULT_APP_ID = "vigie-policy"
RESTART_S = 2.0
STATS_INTERVAL_S = 10.0
STOP_TIMEOUT_S = 10.0


class WorkerSetupError(VigieError, RuntimeError):
    """The cluster is not as the worker needs it (a topic missing or misconfigured)."""


class WorkerFailed(VigieError, RuntimeError):
    """A part of the worker failed in a way a restart of that part cannot mend."""


@dataclass(frozen=True)
class PolicySettings:
    config: VigieConfig
    bootstrap: str
    app_id: str = DEFAULT_APP_ID
    grace_s: float = DEFAULT_GRACE_S
    """How long a camera left behind by a moving incident stays granted."""
    tick_interval_s: float = 1.0
    """How often grace periods and expiries are checked: revocations are this late at most."""
    sizing: Sizing = field(default_factory=Sizing)
    state_dir: Path = field(default_factory=connection.state_dir)
    """Where the sealer's signing key lives (``runtime.audit_keys``)."""


async def check_command_topic(bootstrap: str) -> int:
    """The partition count of `incident-commands`; WorkerSetupError unless the broker stamps
    its records (LogAppendTime)."""
    partitions = len(await partitions_of(bootstrap, INCIDENT_COMMANDS))
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, INCIDENT_COMMANDS)]
        )
    finally:
        await admin.close()
    configs = {
        entry[0]: entry[1]
        for response in responses
        for *_, entries in response.resources
        for entry in entries
    }
    stamp = configs.get("message.timestamp.type")
    if stamp != "LogAppendTime":
        raise WorkerSetupError(
            f"topic {INCIDENT_COMMANDS} has message.timestamp.type={stamp}: command times must"
            " come from the broker. Run: vigie kafka configs --alter --entity-type topics"
            f" --entity-name {INCIDENT_COMMANDS} --add-config message.timestamp.type=LogAppendTime"
        )
    return partitions


class PolicyWorker:
    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self.index = GrantIndex()
        self.index_ready = asyncio.Event()
        self.producer = kafka_clients.producer(
            settings.bootstrap, client_id=f"{settings.app_id}-worker", linger_ms=1
        )
        self.processor: IncidentProcessor | None = None
        self.sealer: AuditSealer | None = None
        self.router: Router | None = None
        self._partitions = settings.sizing.control_partitions  # checked against the topic

    async def _send_draft(self, draft: AuditRecord) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = await self.producer.send(
            AUDIT_DRAFTS, key=draft.operator.encode(), value=AUDIT_RECORD.encode(draft)
        )
        return fut

    async def run(self, stop: asyncio.Event) -> None:
        self._partitions = await check_command_topic(self.settings.bootstrap)
        await self.producer.start()
        parts = {
            "incidents": self._supervised("incidents", self._incidents, stop),
            "audit sealer": self._supervised("audit sealer", self._sealer, stop),
            "router": self._supervised("router", self._route, stop),
            "grant feed": self._grant_feed(stop),
            "ticks": self._ticks(stop),
            "stats": self._stats(stop),
        }
        tasks = [asyncio.create_task(coro, name=name) for name, coro in parts.items()]
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            # The parts commit what was acknowledged and leave their groups; one that is still
            # waiting (e.g. for the grant index) is cancelled.
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise WorkerFailed(f"{task.get_name()} failed") from task.exception()
        finally:
            stopping.cancel()
            await self.producer.stop()

    async def _supervised(
        self, name: str, part: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """Run `part` until `stop`; start it again after a failure."""
        while not stop.is_set():
            try:
                await part(stop)
            except WorkerSetupError:
                raise
            except StateError as exc:  # said in one line: the record to replace is named
                logger.error(  # noqa: TRY400 - the reason is the message, not a traceback
                    "%s stopped: %s; trying again in %.0f s", name, exc, RESTART_S
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_S)
            except Exception:
                logger.exception("%s failed; starting it again in %.0f s", name, RESTART_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_S)

    # ------------------------------------------------------------------ parts

    async def _incidents(self, stop: asyncio.Event) -> None:
        self.processor = IncidentProcessor(
            bootstrap=self.settings.bootstrap,
            group_id=self.settings.app_id,
            config=self.settings.config,
            grace_s=self.settings.grace_s,
            partitions=self._partitions,
            producer=self.producer,
            send_draft=self._send_draft,
        )
        await self.processor.run(stop)

    async def _sealer(self, stop: asyncio.Event) -> None:
        self.sealer = AuditSealer(
            bootstrap=self.settings.bootstrap,
            group_id=f"{self.settings.app_id}-sealer",
            producer=self.producer,
            signing_key=await asyncio.to_thread(
                load_or_create_signing_key, self.settings.state_dir
            ),
        )
        await self.sealer.run(stop)

    async def _route(self, stop: asyncio.Event) -> None:
        self.router = Router(
            self.settings.bootstrap,
            f"{self.settings.app_id}-router",
            self.index,
            self.index_ready,
            placement(self.settings.config.cameras),
            owners={c.id: c.operator for c in self.settings.config.cameras},
        )
        await self.router.run(stop)

    async def _ticks(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.tick_interval_s)
            processor = self.processor
            if processor is None or stop.is_set():
                continue
            try:
                await processor.tick()
            except Exception:
                logger.exception("incident tick failed; trying again at the next tick")

    async def _grant_feed(self, stop: asyncio.Event) -> None:
        consumer = reader(self.settings.bootstrap, f"{self.settings.app_id}-grants")
        await consumer.start()
        try:
            tps = await partitions_of(self.settings.bootstrap, GRANTS)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            logger.info("grant index: recovering %d records", sum(ends.values()))
            while not stop.is_set():
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
            gone = record.key is not None and self.index.discard(record.key.decode())
            if gone and self.router is not None:
                self.router.grants_changed()
            return
        try:
            grant = GRANT.decode(record.value)
        except DecodeError as exc:
            logger.warning("grants offset %d: %s", record.offset, exc.reason)
            await send_dead_letter(
                self.producer, record, stage="policy", error_kind="DecodeError", reason=exc.reason
            )
            return
        if self.index.apply(grant):
            if self.router is not None:
                self.router.grants_changed()
            await self._send_draft(forwarding_audit(grant))

    async def _stats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATS_INTERVAL_S)
            if self.router is not None and self.router.stats.frames:
                s = self.router.stats
                logger.info(
                    "router: %d frames, %d forwarded, %d dead letters, %d backlogs caught up",
                    s.frames,
                    s.forwarded,
                    s.dead_letters,
                    s.caught_up,
                )
            if self.processor is not None:
                p, gaps = self.processor.stats, self.processor.member.stats
                logger.info(
                    "incidents: %d commands, %d applied, %d refused, %d redelivered,"
                    " %d dead letters; %d offset jumps: %d gaps re-read, %d holes of the log",
                    p.commands,
                    p.applied,
                    p.refused,
                    p.redelivered,
                    p.dead_letters,
                    gaps.jumps,
                    gaps.gaps,
                    gaps.explained,
                )


def run_worker(settings: PolicySettings) -> int:
    """Run one worker until SIGTERM or SIGINT; 0 after a clean stop."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await PolicyWorker(settings).run(stop)

    asyncio.run(main())
    return 0

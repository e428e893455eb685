"""The policy soak: incident commands keep arriving while policy workers are stopped (SIGTERM)
and killed (kill -9) at random points, with a backlog built while none runs. Afterwards, every
command must have been applied exactly once and in order per incident, and no grant of a closed
incident may be left active. Used by tests/integration/test_policy_soak.py (10 restarts, CI)
and bench/policy_soak_bench.py (50 restarts, docs/benchmarks.md).

"Applied exactly once" is read from the sealed audit chain, which records one decision per
command (a command re-decided after a crash yields the same audit id, sealed once): each
incident's decisions must be exactly OPENED, UPDATED, UPDATED, CLOSED, in that order, with no
refusal. The `incidents` topic is at-least-once (an event may repeat after a kill -9); with
repeats removed its events must be in the same order.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from runtime.topic_reader import read_partitions
from schemas.codec import AUDIT_RECORD, GRANT, INCIDENT_COMMAND, INCIDENT_EVENT
from schemas.config import IncidentKind
from schemas.incident_commands import close_record, open_record, update_record
from schemas.records import AuditAction, GrantStatus, IncidentCommand, IncidentEventKind
from schemas.topics import AUDIT, GRANTS, INCIDENT_COMMANDS, INCIDENTS
from tests.builders import kafka_producer, poll
from tests.integration.policy_world import ORIGIN, WorkerProcess, World, offset

STEPS = ("open", "update", "update", "close")
HEAD_ACTIONS = {
    AuditAction.INCIDENT_OPENED: "open",
    AuditAction.INCIDENT_UPDATED: "update",
    AuditAction.INCIDENT_CLOSED: "close",
    AuditAction.REFUSAL: "REFUSED",
}
HEAD_EVENTS = {
    IncidentEventKind.OPENED: "open",
    IncidentEventKind.UPDATED: "update",
    IncidentEventKind.CLOSED: "close",
    IncidentEventKind.REFUSED: "REFUSED",
}


def command(world: World, incident: str, step: int, at: datetime) -> IncidentCommand:
    """Step `step` of an incident's life. The first update claims a time a year ahead: a
    client's clock must not freeze the incident (its close must still apply)."""
    kind = STEPS[step]
    if kind == "open":
        lat, lon = ORIGIN
        return open_record(
            incident_id=incident, operator=world.police, kind=IncidentKind.PURSUIT,
            latitude=lat, longitude=lon, radius_m=100, legal_basis="art. 25 soak",
            requested_by="soak", at=at,
        )  # fmt: skip
    if kind == "update":
        lat, lon = offset(600, 0) if step == 1 else ORIGIN
        claimed = at + timedelta(days=365) if step == 1 else at
        return update_record(
            incident_id=incident, operator=world.police, latitude=lat, longitude=lon,
            radius_m=None, requested_by="soak", at=claimed,
        )  # fmt: skip
    return close_record(incident_id=incident, operator=world.police, requested_by="soak", at=at)


def schedule(world: World, prefix: str, incidents: int) -> list[tuple[str, int]]:
    """(incident, step) in sending order: incidents overlap, each one's steps in order."""
    order: list[tuple[str, int]] = []
    for wave in range(incidents + 2 * len(STEPS)):
        for step in range(len(STEPS)):
            i = wave - step * 2
            if 0 <= i < incidents:
                order.append((f"{prefix}{i}", step))
    return order


@dataclass
class SoakResult:
    incidents: int
    commands: int
    restarts: int
    kills: int
    terms: int
    seconds: float
    wrong: dict[str, list[str]] = field(default_factory=dict)
    """Incident -> its audited decisions, where they are not exactly the commands sent."""
    events_out_of_order: dict[str, list[str]] = field(default_factory=dict)
    active_after_close: list[str] = field(default_factory=list)
    gap_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.wrong or self.events_out_of_order or self.active_after_close)


async def _send(producer: AIOKafkaProducer, record: IncidentCommand) -> None:
    await producer.send_and_wait(
        INCIDENT_COMMANDS, key=record.incident_id.encode(), value=INCIDENT_COMMAND.encode(record)
    )


async def run_soak(
    bootstrap: str,
    world: World,
    log_dir: Path,
    *,
    restarts: int,
    incidents: int,
    seed: int,
    settle_s: float = 120.0,
) -> SoakResult:
    rng = random.Random(seed)
    prefix = f"inc-soak-{world.police}-"
    order = schedule(world, prefix, incidents)
    backlog, rest = order[: len(order) // 4], order[len(order) // 4 :]
    started = time.monotonic()
    kills = terms = 0
    workers: list[WorkerProcess] = []
    async with kafka_producer(bootstrap, client_id="policy-soak") as producer:
        for incident, step in backlog:  # while no worker runs
            await _send(producer, command(world, incident, step, datetime.now(UTC)))

        pending = list(rest)
        killed_rounds = set(rng.sample(range(restarts), restarts // 2))
        # Spread the rest of the commands over the restarts, so they keep arriving throughout.
        interval = restarts * 3.5 / max(len(rest), 1)

        async def feed() -> None:
            while pending:
                incident, step = pending.pop(0)
                await _send(producer, command(world, incident, step, datetime.now(UTC)))
                await asyncio.sleep(interval)

        feeding = asyncio.create_task(feed())
        try:
            for round_ in range(restarts):
                worker = WorkerProcess(world, log_dir, f"soak-{round_}")
                workers.append(worker)
                # Stop it at a random point: during start-up, restore or processing.
                await asyncio.sleep(rng.uniform(0.5, 6.0))
                if round_ in killed_rounds:
                    worker.kill()
                    kills += 1
                else:
                    worker.stop()
                    terms += 1
            await feeding
        finally:
            if not feeding.done():
                feeding.cancel()

    async def all_decided() -> bool:
        decided = await audited(bootstrap, prefix)
        return sum(len(v) for v in decided.values()) >= len(order) and all(
            v[-1:] == ["close"] for v in decided.values()
        )

    final = WorkerProcess(world, log_dir, "soak-final")
    workers.append(final)
    try:
        # Not a failure here: the result below says what is missing.
        await poll(all_decided, settle_s, interval_s=1.0)
        await asyncio.sleep(2.0)  # anything late (a duplicate) would show now
    finally:
        final.stop()
    result = SoakResult(
        incidents=incidents,
        commands=len(order),
        restarts=restarts,
        kills=kills,
        terms=terms,
        seconds=time.monotonic() - started,
    )
    expected = list(STEPS)
    decided = await audited(bootstrap, prefix)
    for i in range(incidents):
        name = f"{prefix}{i}"
        if decided.get(name) != expected:
            result.wrong[name] = decided.get(name, [])
    for name, kinds in (await event_kinds(bootstrap, prefix)).items():
        if kinds != expected:
            result.events_out_of_order[name] = kinds
    result.active_after_close = await active_grants(bootstrap, prefix)
    for worker in workers:
        result.gap_lines += [line for line in worker.output().splitlines() if "GAP:" in line]
    return result


async def audited(bootstrap: str, prefix: str) -> dict[str, list[str]]:
    """Each incident's head decisions in chain order (one per applied or refused command)."""
    out: dict[str, list[str]] = {}
    for records in (await read_partitions(bootstrap, AUDIT)).values():
        for r in records:
            record = AUDIT_RECORD.decode(r.value or b"")
            if record.incident_id and record.incident_id.startswith(prefix):
                step = HEAD_ACTIONS.get(record.action)
                if step is not None:
                    out.setdefault(record.incident_id, []).append(step)
    return out


async def event_kinds(bootstrap: str, prefix: str) -> dict[str, list[str]]:
    """Each incident's head events in topic order, repeats (same kind and time) removed."""
    out: dict[str, list[str]] = {}
    seen: set[tuple[str, str, datetime]] = set()
    for records in (await read_partitions(bootstrap, INCIDENTS)).values():
        for r in records:
            event = INCIDENT_EVENT.decode(r.value or b"")
            step = HEAD_EVENTS.get(event.kind)
            if step is None or not event.incident_id.startswith(prefix):
                continue
            if (event.incident_id, step, event.time) in seen:
                continue
            seen.add((event.incident_id, step, event.time))
            out.setdefault(event.incident_id, []).append(step)
    return out


async def active_grants(bootstrap: str, prefix: str) -> list[str]:
    """Grant ids of the incidents whose latest grant record is still ACTIVE."""
    latest: dict[str, GrantStatus] = {}
    for records in (await read_partitions(bootstrap, GRANTS)).values():
        for r in records:
            if r.value is None:
                continue
            grant = GRANT.decode(r.value)
            if grant.incident_id.startswith(prefix):
                latest[grant.grant_id] = grant.status
    return sorted(g for g, status in latest.items() if status is GrantStatus.ACTIVE)

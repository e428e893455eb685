"""Incident commands sent while no policy worker runs are all applied once one starts: none
is skipped at start-up (a close that was skipped would leave cameras shared)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from runtime.topic_reader import read_partitions
from schemas.codec import INCIDENT_COMMAND, INCIDENT_EVENT
from schemas.config import IncidentKind
from schemas.records import IncidentEventKind
from schemas.topics import INCIDENT_COMMANDS, INCIDENTS
from streams.commands import close_record, open_record
from tests.integration.policy_world import WorkerProcess, build_world, offset, provision

INCIDENTS_COUNT = 150


async def _events(bootstrap: str, prefix: str) -> dict[IncidentEventKind, set[str]]:
    seen: dict[IncidentEventKind, set[str]] = {}
    for records in (await read_partitions(bootstrap, INCIDENTS)).values():
        for r in records:
            event = INCIDENT_EVENT.decode(r.value or b"")
            if event.incident_id.startswith(prefix):
                seen.setdefault(event.kind, set()).add(event.incident_id)
    return seen


async def test_commands_sent_while_no_worker_runs_are_all_applied_at_start(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    world = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, world)
    prefix = f"inc-backlog-{world.police}-"
    lat, lon = offset(0, 0)
    start = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for i in range(INCIDENTS_COUNT):
            incident = f"{prefix}{i}"
            opened = open_record(
                incident_id=incident, operator=world.police, kind=IncidentKind.PURSUIT,
                latitude=lat, longitude=lon, radius_m=50, legal_basis="art. 25",
                requested_by="test", at=start + timedelta(milliseconds=i),
            )  # fmt: skip
            closed = close_record(
                incident_id=incident, operator=world.police, requested_by="test",
                at=start + timedelta(seconds=1, milliseconds=i),
            )  # fmt: skip
            for record in (opened, closed):
                await producer.send(
                    INCIDENT_COMMANDS, key=incident.encode(), value=INCIDENT_COMMAND.encode(record)
                )
        await producer.flush()
    finally:
        await producer.stop()

    worker = WorkerProcess(world, tmp_path, "backlog")
    try:
        deadline = time.monotonic() + 90
        expected = {f"{prefix}{i}" for i in range(INCIDENTS_COUNT)}
        seen: dict[IncidentEventKind, set[str]] = {}
        while time.monotonic() < deadline:
            seen = await _events(kafka_bootstrap, prefix)
            if seen.get(IncidentEventKind.CLOSED, set()) == expected:
                break
            await asyncio.sleep(1)
        assert seen.get(IncidentEventKind.OPENED, set()) == expected
        assert seen.get(IncidentEventKind.CLOSED, set()) == expected
        assert IncidentEventKind.REFUSED not in seen
    finally:
        assert worker.stop() == 0, worker.output()[-3000:]

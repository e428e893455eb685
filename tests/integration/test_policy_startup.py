"""Incident commands sent while no policy worker runs are all applied once one starts: none
is skipped at start-up (a close that was skipped would leave cameras shared)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.codec import INCIDENT_COMMAND
from schemas.config import IncidentKind
from schemas.incident_commands import close_record, open_record
from schemas.records import IncidentEventKind
from schemas.topics import INCIDENT_COMMANDS
from tests.builders import kafka_producer, poll
from tests.integration.policy_world import (
    WorkerProcess,
    build_world,
    incident_ids_by_event,
    offset,
    provision,
)

INCIDENTS_COUNT = 150


async def test_commands_sent_while_no_worker_runs_are_all_applied_at_start(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    world = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, world)
    prefix = f"inc-backlog-{world.police}-"
    lat, lon = offset(0, 0)
    start = datetime.now(UTC)
    async with kafka_producer(kafka_bootstrap, client_id="test-policy-backlog") as producer:
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

    worker = WorkerProcess(world, tmp_path, "backlog")
    try:
        expected = {f"{prefix}{i}" for i in range(INCIDENTS_COUNT)}
        # Not a failure at the deadline: the assertions below say which incidents are missing.
        seen = await poll(
            lambda: incident_ids_by_event(kafka_bootstrap, prefix),
            90,
            interval_s=1,
            until=lambda seen: seen.get(IncidentEventKind.CLOSED, set()) == expected,
        )
        assert seen.get(IncidentEventKind.OPENED, set()) == expected
        assert seen.get(IncidentEventKind.CLOSED, set()) == expected
        assert IncidentEventKind.REFUSED not in seen
    finally:
        assert worker.stop() == 0, worker.output()[-3000:]

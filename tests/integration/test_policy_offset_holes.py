"""Offsets without records (here the markers of transactions) are told apart from a gap: the
worker reads again, finds the same hole, steps over it and applies every command."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.codec import INCIDENT_COMMAND
from schemas.config import IncidentKind
from schemas.incident_commands import open_record
from schemas.records import IncidentEventKind
from schemas.topics import INCIDENT_COMMANDS
from tests.builders import eventually, kafka_producer
from tests.integration.policy_world import (
    ORIGIN,
    WorkerProcess,
    build_world,
    incident_ids_by_event,
    provision,
)

pytestmark = pytest.mark.integration

TRANSACTIONS = 4


async def test_transaction_markers_are_stepped_over_and_every_command_applied(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    world = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, world)
    prefix = f"inc-txn-{world.police}-"
    expected: set[str] = set()
    async with kafka_producer(
        kafka_bootstrap,
        client_id="test-offset-holes",
        transactional_id=f"test-{uuid.uuid4().hex[:8]}",
    ) as producer:
        lat, lon = ORIGIN
        for t in range(TRANSACTIONS):
            async with producer.transaction():
                for i in range(3):
                    incident = f"{prefix}{t}-{i}"
                    expected.add(incident)
                    record = open_record(
                        incident_id=incident, operator=world.police, kind=IncidentKind.PURSUIT,
                        latitude=lat, longitude=lon, radius_m=50, legal_basis="art. 25",
                        requested_by="t", at=datetime.now(UTC),
                    )  # fmt: skip
                    await producer.send(
                        INCIDENT_COMMANDS,
                        key=incident.encode(),
                        value=INCIDENT_COMMAND.encode(record),
                    )

    async def all_opened() -> bool:
        opened = await incident_ids_by_event(kafka_bootstrap, prefix)
        return opened.get(IncidentEventKind.OPENED) == expected

    worker = WorkerProcess(world, tmp_path, "holes")
    try:
        await eventually(all_opened, 60, interval_s=0.5, message=lambda: worker.output()[-3000:])
        await worker.wait_for("(compaction, transaction markers or retention)")
        assert "GAP:" not in worker.output()
    finally:
        assert worker.stop() == 0, worker.output()[-3000:]

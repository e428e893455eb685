"""A junk record on the incident-state changelog is refused with a clear error and the worker
processes nothing of that partition (fail closed) until the record is replaced."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.codec import INCIDENT_COMMAND
from schemas.config import IncidentKind
from schemas.incident_commands import open_record
from schemas.records import IncidentEventKind
from schemas.topics import INCIDENT_COMMANDS, INCIDENT_STATE, Sizing
from streams.incident_processor import partition_for
from tests.builders import eventually, kafka_producer
from tests.integration.policy_world import (
    ORIGIN,
    WorkerProcess,
    build_world,
    incident_ids_by_event,
    provision,
)

pytestmark = pytest.mark.integration


def _same_partition_ids(prefix: str, count: int) -> list[str]:
    partitions = Sizing().control_partitions
    ids = (f"{prefix}{i}" for i in range(1000))
    first = next(ids)
    wanted = partition_for(first.encode(), partitions)
    same = [i for i in ids if partition_for(i.encode(), partitions) == wanted]
    return [first, *same[: count - 1]]


async def _opened(bootstrap: str, incident: str) -> bool:
    opened = (await incident_ids_by_event(bootstrap, incident)).get(IncidentEventKind.OPENED)
    return incident in (opened or set())


async def test_junk_state_is_refused_loudly_and_nothing_is_processed_until_replaced(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    world = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, world)
    poisoned, incident = _same_partition_ids(f"inc-badstate-{world.police}-", 2)
    partition = partition_for(poisoned.encode(), Sizing().control_partitions)
    worker: WorkerProcess | None = None
    async with kafka_producer(kafka_bootstrap, client_id="test-bad-state") as producer:
        try:
            await producer.send_and_wait(
                INCIDENT_STATE, key=poisoned.encode(), value=b"\x80\x04junk", partition=partition
            )
            lat, lon = ORIGIN
            command = open_record(
                incident_id=incident, operator=world.police, kind=IncidentKind.PURSUIT,
                latitude=lat, longitude=lon, radius_m=50, legal_basis="art. 25", requested_by="t",
                at=datetime.now(UTC),
            )  # fmt: skip
            await producer.send_and_wait(
                INCIDENT_COMMANDS, key=incident.encode(), value=INCIDENT_COMMAND.encode(command)
            )
            worker = WorkerProcess(world, tmp_path, "bad-state")
            await worker.wait_for(f"{INCIDENT_STATE}[{partition}]@")
            line = next(
                x for x in worker.output().splitlines() if f"{INCIDENT_STATE}[{partition}]@" in x
            )
            assert f"(incident {poisoned}): not JSON" in line
            assert "will not process the partition" in line
            assert "Traceback" not in worker.output()
            await asyncio.sleep(3.0)
            assert not await _opened(kafka_bootstrap, incident), "processed despite unknown state"

            # Replaced (here deleted): the worker's next attempt restores and goes on.
            await producer.send_and_wait(
                INCIDENT_STATE, key=poisoned.encode(), value=None, partition=partition
            )
            await eventually(
                lambda: _opened(kafka_bootstrap, incident),
                30,
                interval_s=0.5,
                message=lambda: worker.output()[-3000:],
            )
        finally:
            if worker is not None:
                assert worker.stop() == 0, worker.output()[-3000:]

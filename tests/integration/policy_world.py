"""A small world for the policy worker tests: three operators of its own, cameras around one
place, agreements, the worker as a real `vigie policy worker` subprocess, a frame pump and a
reader of the `shared.*` topics."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from producers.publisher import Publisher
from runtime import kafka_clients
from runtime.topic_reader import read_partitions
from schemas.codec import INCIDENT_COMMAND, INCIDENT_EVENT
from schemas.config import IncidentKind, VigieConfig, parse
from schemas.headers import HEADER_CAMERA, HEADER_CAPTURE_US, HEADER_SEQUENCE
from schemas.incident_commands import close_record, open_record
from schemas.placement import placement
from schemas.records import IncidentCommand, IncidentEventKind
from schemas.topics import INCIDENT_COMMANDS, INCIDENTS, shared_topic
from streams.geometry import EARTH_RADIUS_M
from tests.builders import SMALL_JPEG, eventually, frame, kafka_producer
from tests.support import run_vigie
from vigie.provisioning import provision_topics

SESSION_APP_ID = f"vigie-policy-test-{uuid.uuid4().hex[:8]}"
"""One consumer group for every worker of a test session: workers continue where the previous
one stopped instead of each new group replaying every earlier test's commands."""
GRACE_S = 2.0
ORIGIN = (50.85, 4.35)
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180


def offset(east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    lat = ORIGIN[0] + north_m / _M_PER_DEG
    lon = ORIGIN[1] + east_m / (_M_PER_DEG * math.cos(math.radians(ORIGIN[0])))
    return lat, lon


@dataclass(frozen=True)
class World:
    police: str
    transit: str
    roads: str
    config: VigieConfig
    config_path: Path
    cameras: dict[str, tuple[str, tuple[float, float]]]
    """camera id -> (operator, position)."""


def build_world(unique: str, directory: Path) -> World:
    police, transit, roads = f"pol-{unique}", f"tra-{unique}", f"rds-{unique}"
    cameras = {
        f"pc1-{unique}": (police, offset(0, 10)),
        f"tc1-{unique}": (transit, offset(20, 0)),
        f"rc1-{unique}": (roads, offset(-20, 0)),
        f"tc2-{unique}": (transit, offset(600, 0)),
    }
    data: dict[str, Any] = {
        "region": f"Test {unique}",
        "operators": [
            {"id": police, "name": "Police", "kind": "police"},
            {"id": transit, "name": "Transit", "kind": "public_transport"},
            {"id": roads, "name": "Roads", "kind": "roads"},
        ],
        "profiles": [{"name": "sd", "width": 320, "height": 180, "max_fps": 5.0}],
        "cameras": [
            {
                "id": camera_id,
                "operator": operator,
                "name": camera_id,
                "position": {"lat": lat, "lon": lon},
                "zone": "centre",
                "source_kind": "synthetic",
                "source": "synthetic://street",
                "profile": "sd",
            }
            for camera_id, (operator, (lat, lon)) in cameras.items()
        ],
        "agreements": [
            {
                "id": f"tra-pol-{unique}",
                "owner": transit,
                "grantee": police,
                "incident_kinds": ["pursuit"],
                "max_duration_minutes": 60,
                "live": True,
                "archive": True,
                "legal_basis": "test agreement transit",
            },
            {
                "id": f"rds-pol-{unique}",
                "owner": roads,
                "grantee": police,
                "incident_kinds": ["pursuit"],
                "max_duration_minutes": 60,
                "live": True,
                "archive": False,
                "legal_basis": "test agreement roads",
            },
        ],
    }
    path = directory / f"world-{unique}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return World(police, transit, roads, parse(data, str(path)), path, cameras)


async def provision(bootstrap: str, world: World) -> None:
    await provision_topics(bootstrap, world.config)


vigie = run_vigie


async def send_commands(bootstrap: str, *records: IncidentCommand) -> None:
    """Incident commands straight onto `incident-commands`, as the admin (these tests are the
    policy's; people give commands through the room, `tests/e2e/test_room.py`)."""
    async with kafka_producer(bootstrap, client_id="policy-test-commands") as producer:
        for record in records:
            await producer.send_and_wait(
                INCIDENT_COMMANDS,
                key=record.incident_id.encode(),
                value=INCIDENT_COMMAND.encode(record),
            )


def pursuit(world: World, incident_id: str, lat: float, lon: float, legal_basis: str | None,
            radius_m: float = 100.0) -> IncidentCommand:  # fmt: skip
    return open_record(
        incident_id=incident_id, operator=world.police, kind=IncidentKind.PURSUIT,
        latitude=lat, longitude=lon, radius_m=radius_m, legal_basis=legal_basis,
        requested_by="inspector.test", at=datetime.now(UTC),
    )  # fmt: skip


def closing(world: World, incident_id: str) -> IncidentCommand:
    return close_record(
        incident_id=incident_id,
        operator=world.police,
        requested_by="inspector.test",
        at=datetime.now(UTC),
    )


class WorkerProcess:
    """`vigie policy worker` as a subprocess, its output in a log file."""

    def __init__(self, world: World, log_dir: Path, name: str = "worker") -> None:
        self.log = log_dir / f"{name}.log"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "vigie",
                    "policy",
                    "worker",
                    "--config",
                    str(world.config_path),
                    "--app-id",
                    SESSION_APP_ID,
                    "--grace",
                    str(GRACE_S),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=os.environ,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for(self, text: str, timeout_s: float = 60.0) -> None:
        def printed() -> bool:
            if text in self.output():
                return True
            assert self.process.poll() is None, f"worker exited:\n{self.output()[-4000:]}"
            return False

        await eventually(
            printed,
            timeout_s,
            interval_s=0.2,
            message=lambda: f"no {text!r} in:\n{self.output()[-4000:]}",
        )

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@contextlib.asynccontextmanager
async def frame_pump(
    bootstrap: str, world: World, interval_s: float = 0.1, images: Sequence[bytes] = ()
) -> AsyncIterator[None]:
    """Publish a frame of every camera every `interval_s`, captured now, while the block runs
    (`images` in turn, if given: real JPEGs a browser can show)."""
    stop = asyncio.Event()

    async def pump() -> None:
        sequence = 0
        cameras = placement(world.config.cameras)
        async with Publisher(
            bootstrap, client_id="policy-test-cameras", placement=cameras
        ) as publisher:
            while not stop.is_set():
                now = datetime.now(UTC)
                for camera_id, (operator, _) in world.cameras.items():
                    picture = images[sequence % len(images)] if images else SMALL_JPEG
                    await publisher.publish_frame(
                        frame(operator, camera_id, sequence, at=now, image=picture)
                    )
                sequence += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)

    task = asyncio.create_task(pump())
    try:
        yield
    finally:
        stop.set()
        await task


@dataclass
class Received:
    topic: str
    camera_id: str
    capture_us: int
    received: float
    """time.time() when read."""
    sequence: int = -1


@dataclass
class SharedReader:
    """Reads every `shared.<operator>` topic of the world from their current end."""

    bootstrap: str
    operators: list[str]
    received: list[Received] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SharedReader:
        self._consumer = kafka_clients.consumer(
            self.bootstrap, client_id="test-shared-reader", group_id=None
        )
        await self._consumer.start()
        tps = [
            TopicPartition(shared_topic(op), p)
            for op in self.operators
            for p in sorted(self._consumer.partitions_for_topic(shared_topic(op)) or [0, 1, 2])
        ]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batch.values():
                for r in records:
                    headers = dict(r.headers)
                    self.received.append(
                        Received(
                            r.topic,
                            headers[HEADER_CAMERA].decode(),
                            int(headers[HEADER_CAPTURE_US]),
                            now,
                            int(headers.get(HEADER_SEQUENCE, b"-1")),
                        )
                    )

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    def cameras_on(self, operator: str, since_us: int = 0) -> set[str]:
        topic = shared_topic(operator)
        return {r.camera_id for r in self.received if r.topic == topic and r.capture_us >= since_us}

    def sequences_on(self, operator: str, camera_id: str) -> list[int]:
        topic = shared_topic(operator)
        return [r.sequence for r in self.received if r.topic == topic and r.camera_id == camera_id]

    async def wait_for_cameras(
        self, operator: str, expected: set[str], since_us: int, timeout_s: float = 20.0
    ) -> None:
        await eventually(
            lambda: self.cameras_on(operator, since_us) == expected,
            timeout_s,
            interval_s=0.2,
            message=lambda: (
                f"shared.{operator}: {sorted(self.cameras_on(operator, since_us))},"
                f" expected {sorted(expected)}"
            ),
        )


def now_us() -> int:
    return time.time_ns() // 1000


async def incident_ids_by_event(bootstrap: str, prefix: str) -> dict[IncidentEventKind, set[str]]:
    """The ids of the incidents starting with `prefix` that have each kind of event on
    `incidents` (read to its end now)."""
    seen: dict[IncidentEventKind, set[str]] = {}
    for records in (await read_partitions(bootstrap, INCIDENTS)).values():
        for r in records:
            event = INCIDENT_EVENT.decode(r.value or b"")
            if event.incident_id.startswith(prefix):
                seen.setdefault(event.kind, set()).add(event.incident_id)
    return seen

"""Policy router benchmark (the router of `vigie policy worker`, an aiokafka consumer group).

Measures, in one run on the local stack, with a real `vigie policy worker` subprocess:
- router throughput: frames/s the worker forwards from `frames.<owner>` to `shared.<grantee>`
  (one live grant), against raw aiokafka consume -> produce of the identical messages (same
  key, value, headers) in the same run; target >= 0.8 of raw;
- grant change -> effective latency: an incident opened (first frame of the granted camera on
  `shared.<grantee>`) and closed (last such frame), p50/p99 over the cycles; target p99 < 1 s;
- frames forwarded without a grant: frames on `shared.<grantee>` captured outside every grant's
  validity, frames of the never-granted camera, frames on the owner's own `shared.` topic;
  target 0.

Run: .venv/bin/python -m bench.router_bench [--frames 5000] [--cycles 20]
(uses the stack of `vigie stack up`, or VIGIE_STATE_DIR / VIGIE_KAFKA_PORT for another one)
and copy the printed section into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaProducer, TopicPartition

from producers.publisher import Publisher
from runtime import connection, kafka_clients
from runtime.identity import act_as_admin
from runtime.topic_reader import read_partitions
from schemas.codec import GRANT, INCIDENT_COMMAND
from schemas.config import IncidentKind
from schemas.headers import HEADER_CAMERA, HEADER_CAPTURE_US, to_epoch_us
from schemas.incident_commands import close_record, open_record
from schemas.records import Frame, FrameEncoding, GrantStatus, IncidentCommand
from schemas.topics import (
    GRANTS,
    INCIDENT_COMMANDS,
    frames_topic,
    shared_topic,
)
from vigie.provisioning import provision_operator_topics

FRAME_BYTES = 30_000  # a 640x360 JPEG at quality 75


def _config(owner: str, grantee: str, other: str) -> dict[str, Any]:
    def camera(camera_id: str, lat: float) -> dict[str, Any]:
        return {
            "id": camera_id,
            "operator": owner,
            "name": camera_id,
            "position": {"lat": lat, "lon": 4.35},
            "zone": "centre",
            "source_kind": "synthetic",
            "source": "synthetic://street",
            "profile": "sd",
        }

    return {
        "region": "bench",
        "operators": [
            {"id": owner, "name": "Owner", "kind": "public_transport"},
            {"id": grantee, "name": "Grantee", "kind": "police"},
            {"id": other, "name": "Other", "kind": "roads"},
        ],
        "profiles": [{"name": "sd", "width": 640, "height": 360, "max_fps": 25.0}],
        "cameras": [camera(f"{owner}-near", 50.85), camera(f"{owner}-far", 50.95)],
        "agreements": [
            {
                "id": f"{owner}-to-{grantee}",
                "owner": owner,
                "grantee": grantee,
                "incident_kinds": ["pursuit"],
                "max_duration_minutes": 120,
                "live": True,
                "archive": False,
                "legal_basis": "bench",
            }
        ],
    }


async def _until(condition: Callable[[], bool], interval_s: float = 0.01) -> None:
    while True:
        if condition():
            return
        await asyncio.sleep(interval_s)


class Worker:
    def __init__(self, config: Path, app_id: str, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vigie", "policy", "worker", "--config", str(config),
                 "--app-id", app_id, "--grace", "1"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=os.environ,
            )  # fmt: skip

    async def ready(self) -> None:
        while "grant index ready" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            await asyncio.sleep(0.1)
        await _until(lambda: "partitions assigned" in self.log.read_text(errors="replace"), 0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def _frame(camera_id: str, owner: str, seq: int, image: bytes) -> Frame:
    return Frame(
        camera_id=camera_id,
        operator=owner,
        capture_time=datetime.now(UTC),
        sequence=seq,
        width=640,
        height=360,
        encoding=FrameEncoding.JPEG,
        image=image,
    )


async def _send(producer: AIOKafkaProducer, record: IncidentCommand) -> None:
    await producer.send_and_wait(
        INCIDENT_COMMANDS, key=record.incident_id.encode(), value=INCIDENT_COMMAND.encode(record)
    )


class SharedWatch:
    """Receive time and capture time of every frame on some shared topics."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self.consumer = kafka_clients.consumer(
            bootstrap, client_id="bench-watch", group_id=None, fetch_max_bytes=64 * 1024 * 1024
        )
        self.topics = topics
        self.seen: list[tuple[str, str, int, float]] = []  # topic, camera, capture µs, received
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(t, p) for t in self.topics for p in range(3)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.monotonic()
            for records in batch.values():
                for r in records:
                    h = dict(r.headers)
                    self.seen.append(
                        (r.topic, h[HEADER_CAMERA].decode(), int(h[HEADER_CAPTURE_US]), now)
                    )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.consumer.stop()


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = kafka_clients.consumer(bootstrap, client_id="bench-offsets", group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(6)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


async def _raw_copy(
    bootstrap: str, start: dict[TopicPartition, int], target: str, count: int
) -> float:
    """Raw aiokafka consume -> produce of the `count` messages after `start`: frames/s."""
    consumer = kafka_clients.consumer(
        bootstrap, client_id="bench-raw", group_id=None, fetch_max_bytes=64 * 1024 * 1024
    )
    producer = kafka_clients.producer(bootstrap, client_id="bench-raw", linger_ms=5)
    await consumer.start()
    await producer.start()
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    try:
        copied = 0
        started = 0.0
        while copied < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            if batch and not started:
                started = time.monotonic()
            for records in batch.values():
                for r in records:
                    await producer.send(target, key=r.key, value=r.value, headers=list(r.headers))
                    copied += 1
        await producer.flush()
        return count / (time.monotonic() - started)
    finally:
        await producer.stop()
        await consumer.stop()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(frames: int, cycles: int) -> str:
    bootstrap = connection.load().kafka_bootstrap
    u = uuid.uuid4().hex[:6]
    owner, grantee, other = f"bo-{u}", f"bg-{u}", f"bx-{u}"
    near, far = f"{owner}-near", f"{owner}-far"
    tmp = Path(tempfile.mkdtemp(prefix="router-bench-"))
    config = tmp / "bench.yaml"
    config.write_text(yaml.safe_dump(_config(owner, grantee, other)))
    await provision_operator_topics(bootstrap, [owner, grantee, other])
    app_id = f"vigie-policy-bench-{u}"  # the policy principal may use its own groups only
    image = os.urandom(FRAME_BYTES)
    commands = kafka_clients.producer(bootstrap, client_id="bench-commands")
    await commands.start()
    watch = SharedWatch(bootstrap, [shared_topic(grantee), shared_topic(owner)])
    await watch.start()
    worker = Worker(config, app_id, tmp / "worker-1.log")
    incidents: list[str] = []
    try:
        await worker.ready()

        # --- grant change -> effective, with frames flowing at 20 fps per camera
        opens: list[float] = []
        closes: list[float] = []
        async with Publisher(bootstrap, client_id="bench-cameras") as publisher:
            stop = asyncio.Event()

            async def pump() -> None:
                seq = 0
                while not stop.is_set():
                    for camera in (near, far):
                        await publisher.publish_frame(_frame(camera, owner, seq, image[:2000]))
                    seq += 1
                    await asyncio.sleep(0.05)

            pumping = asyncio.create_task(pump())
            for cycle in range(cycles):
                incident = f"bench-{u}-{cycle}"
                incidents.append(incident)
                at = datetime.now(UTC)
                sent = time.monotonic()
                await _send(commands, open_record(
                    incident_id=incident, operator=grantee, kind=IncidentKind.PURSUIT,
                    latitude=50.85, longitude=4.35, radius_m=100.0, legal_basis="bench",
                    requested_by="bench", at=at,
                ))  # fmt: skip
                at_us = to_epoch_us(at)
                await _until(
                    lambda t=at_us: any(s[2] >= t and s[1] == near for s in watch.seen)  # type: ignore[misc]
                )
                first = min(s[3] for s in watch.seen if s[2] >= at_us and s[1] == near)
                opens.append(first - sent)
                await asyncio.sleep(0.5)
                closed = datetime.now(UTC)
                await _send(commands, close_record(
                    incident_id=incident, operator=grantee, requested_by="bench", at=closed
                ))  # fmt: skip
                await asyncio.sleep(1.0)
                last = max(s[2] for s in watch.seen if s[1] == near)
                closes.append(max(0.0, (last - to_epoch_us(closed)) / 1e6))
            stop.set()
            await pumping

        # --- throughput: a backlog of `frames` frames under one live grant
        incident = f"bench-{u}-throughput"
        incidents.append(incident)
        await _send(commands, open_record(
            incident_id=incident, operator=grantee, kind=IncidentKind.PURSUIT, latitude=50.85,
            longitude=4.35, radius_m=100.0, legal_basis="bench", requested_by="bench",
            at=datetime.now(UTC),
        ))  # fmt: skip
        await asyncio.sleep(2)
        worker.stop()
        watch.seen.clear()
        backlog_start = await _end_offsets(bootstrap, frames_topic(owner))
        async with Publisher(bootstrap, client_id="bench-backlog") as publisher:
            acks = [
                await publisher.publish_frame(_frame(near, owner, i, image)) for i in range(frames)
            ]
            await asyncio.gather(*acks)
        worker = Worker(config, app_id, tmp / "worker-2.log")
        await worker.ready()
        # Wait until every frame is forwarded, or nothing more arrives for 5 s (see the
        # "lost at start-up" row: a router must not skip frames fetched during start-up).
        last_count, quiet_since = -1, time.monotonic()
        while True:
            count = sum(1 for s in watch.seen if s[1] == near)
            if count >= frames or time.monotonic() - quiet_since > 5:
                break
            if count != last_count:
                last_count, quiet_since = count, time.monotonic()
            await asyncio.sleep(0.1)
        forwarded = [s[3] for s in watch.seen if s[1] == near]
        lost = frames - len(forwarded)
        router_fps = (len(forwarded) - 1) / (max(forwarded) - min(forwarded))
        raw_fps = await _raw_copy(bootstrap, backlog_start, shared_topic(other), frames)
        await _send(commands, close_record(
            incident_id=incident, operator=grantee, requested_by="bench", at=datetime.now(UTC)
        ))  # fmt: skip
        await asyncio.sleep(2)
    finally:
        worker.stop()
        await watch.stop()
        await commands.stop()

    # --- frames forwarded without a grant
    windows: dict[str, tuple[int, int]] = {}
    for records in (await read_partitions(bootstrap, GRANTS)).values():
        for r in records:
            grant = GRANT.decode(r.value)
            if grant.incident_id not in incidents:
                continue
            start, end = windows.get(grant.grant_id, (to_epoch_us(grant.valid_from), 2**62))
            if grant.status is GrantStatus.REVOKED and grant.revoked_at is not None:
                end = to_epoch_us(grant.revoked_at)
            windows[grant.grant_id] = (start, end)
    # The routing rule: captured at or after valid_from; the end is checked at routing time, so
    # a frame captured just before the revocation may still go out right after it.
    covered = list(windows.values())
    unjustified = sum(
        1
        for topic, camera, capture_us, _ in watch.seen
        if topic != shared_topic(grantee)
        or camera != near
        or not any(start <= capture_us <= end for start, end in covered)
    )
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            "## Policy router (bench/router_bench.py)",
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, {machine}, single-node Kafka 4.1 on loopback,"
            f" one `vigie policy worker` process.",
            "",
            "| measure | result | target |",
            "|---|---|---|",
            f"| router frames/s ({frames} frames of {FRAME_BYTES // 1000} KB, one live grant)"
            f" | {router_fps:.0f} | |",
            f"| raw aiokafka consume→produce frames/s, identical messages | {raw_fps:.0f} | |",
            f"| backlog frames not forwarded by the restarted worker | {lost} | 0 |",
            f"| ratio router / raw | {router_fps / raw_fps:.2f} | ≥ 0.8 |",
            f"| incident opened → first frame forwarded, p50 / p99 ({cycles} cycles)"
            f" | {statistics.median(opens) * 1000:.0f} / {_pct(opens, 0.99) * 1000:.0f} ms"
            " | p99 < 1 s |",
            "| incident closed → last frame forwarded (capture time after the close), p50 / p99"
            f" | {statistics.median(closes) * 1000:.0f} / {_pct(closes, 0.99) * 1000:.0f} ms"
            " | p99 < 1 s |",
            f"| frames forwarded without a grant (of {len(watch.seen)} forwarded)"
            f" | {unjustified} | 0 |",
            "",
            "Run: `.venv/bin/python -m bench.router_bench [--frames 5000] [--cycles 20]` against"
            " a running stack (`vigie stack up`).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    act_as_admin()  # the benchmark provisions and drives the stack as the admin
    print(asyncio.run(run(args.frames, args.cycles)))


if __name__ == "__main__":
    main()

"""Operating the policy workers: two workers in one consumer group share the partitions and
still route correctly, one dying hands its partitions to the other, and a restarted worker
forwards nothing before its grant index has recovered (fail closed), then resumes."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import pytest

from tests.builders import eventually
from tests.integration.policy_world import (
    ORIGIN,
    SharedReader,
    WorkerProcess,
    World,
    build_world,
    closing,
    frame_pump,
    now_us,
    provision,
    pursuit,
    send_commands,
)

pytestmark = pytest.mark.integration

_SLOTS = re.compile(r"router slots assigned: ([\d,]+|none)")


async def _open(bootstrap: str, world: World, incident_id: str) -> None:
    await send_commands(bootstrap, pursuit(world, incident_id, *ORIGIN, "art. 25"))


async def _close(bootstrap: str, world: World, incident_id: str) -> None:
    await send_commands(bootstrap, closing(world, incident_id))


def _slots(worker: WorkerProcess) -> set[int]:
    """The router slots of the worker's latest assignment (which cameras it reads)."""
    found = _SLOTS.findall(worker.output())
    if not found or found[-1] == "none":
        return set()
    return {int(slot) for slot in found[-1].split(",")}


@pytest.fixture
async def world(kafka_bootstrap: str, tmp_path: Path) -> World:
    built = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, built)
    return built


async def test_two_workers_share_the_load_and_one_takes_over_when_the_other_dies(
    kafka_bootstrap: str, world: World, tmp_path: Path
) -> None:
    """Both workers get router slots (each reads the granted cameras of its slots); frames are
    forwarded correctly while they share; after one is killed (SIGKILL, no goodbye) the other
    takes every slot and forwarding continues."""
    first = WorkerProcess(world, tmp_path, "first")
    second = WorkerProcess(world, tmp_path, "second")
    try:
        await first.wait_for("grant index ready")
        await second.wait_for("grant index ready")
        await eventually(
            lambda: _slots(first) and _slots(second) and not _slots(first) & _slots(second),
            60,
            interval_s=0.2,
            message=lambda: f"not shared: {first.output()[-2000:]}\n{second.output()[-2000:]}",
        )
        every = _slots(first) | _slots(second)
        cams = {c.split("-")[0]: c for c in world.cameras}
        incident = f"inc-group-{world.police}"
        async with (
            SharedReader(kafka_bootstrap, [world.police, world.transit, world.roads]) as shared,
            frame_pump(kafka_bootstrap, world),
        ):
            since = now_us()
            await _open(kafka_bootstrap, world, incident)
            await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, since)

            second.kill()
            killed_at = time.monotonic()
            await eventually(
                lambda: _slots(first) == every,
                60,
                interval_s=0.2,
                message=lambda: first.output()[-3000:],
            )
            print(f"takeover after {time.monotonic() - killed_at:.1f} s")
            after = now_us()
            await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, after)
            await _close(kafka_bootstrap, world, incident)
            await asyncio.sleep(3)
        assert shared.cameras_on(world.transit) == set()
        assert shared.cameras_on(world.roads) == set()
    finally:
        if second.process.poll() is None:
            second.stop()
        assert first.stop() == 0, first.output()[-3000:]


async def test_restarted_worker_forwards_nothing_before_recovery_then_resumes(
    kafka_bootstrap: str, world: World, tmp_path: Path
) -> None:
    """A grant given then revoked, the worker stopped, frames published while it is down: on
    restart the worker re-reads the grants before routing and forwards none of them; a new
    incident then routes again."""
    cams = {c.split("-")[0]: c for c in world.cameras}
    worker = WorkerProcess(world, tmp_path, "before")
    async with SharedReader(kafka_bootstrap, [world.police]) as shared:
        try:
            await worker.wait_for("grant index ready")
            async with frame_pump(kafka_bootstrap, world):
                since = now_us()
                await _open(kafka_bootstrap, world, f"inc-restart1-{world.police}")
                await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, since)
                await _close(kafka_bootstrap, world, f"inc-restart1-{world.police}")
                await asyncio.sleep(2)
        finally:
            assert worker.stop() == 0, worker.output()[-3000:]

        closed_us = now_us()
        async with frame_pump(kafka_bootstrap, world):
            await asyncio.sleep(2)  # frames pile up while no worker runs
            restarted = WorkerProcess(world, tmp_path, "after")
            try:
                started = time.monotonic()
                await restarted.wait_for("grant index ready")
                print(f"grant index recovered {time.monotonic() - started:.1f} s after start")
                await asyncio.sleep(4)  # the backlog is routed
                assert shared.cameras_on(world.police, closed_us) == set()

                since = now_us()
                await _open(kafka_bootstrap, world, f"inc-restart2-{world.police}")
                await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, since)
                await _close(kafka_bootstrap, world, f"inc-restart2-{world.police}")
            finally:
                assert restarted.stop() == 0, restarted.output()[-3000:]

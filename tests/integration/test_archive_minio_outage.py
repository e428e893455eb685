"""MinIO stopped while frames flow and started again later: the archiver pauses, Kafka keeps
the frames, and once MinIO is back every frame is archived exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from minio import Minio

from consumers.archive.archiver import Archiver
from consumers.archive.store import archiver_client
from infra.local import minio as local_minio
from infra.local.settings import Connection, StackSettings
from runtime import connection
from tests.builders import eventually
from tests.integration.archive_support import (
    archiver_settings,
    assert_archived_once,
    provision_operator,
    publish_frames,
    wait_archived,
)


async def _wait_answers(endpoint: str, timeout_s: float = 60.0) -> None:
    await eventually(
        lambda: asyncio.to_thread(
            local_minio.answers, endpoint, Path(connection.load().minio_ca_file), 1.0
        ),
        timeout_s,
        interval_s=0.2,
        message="MinIO did not come back",
    )


async def test_frames_published_while_minio_is_down_are_archived_once_it_is_back(
    kafka_bootstrap: str,
    minio_client: Minio,
    live_stack: Connection,
    stack_settings: StackSettings,
    unique: str,
) -> None:
    operator = f"op-{unique}"
    cameras = ["cam-a", "cam-b"]
    per_camera = 100
    await provision_operator(kafka_bootstrap, minio_client, operator)
    settings = archiver_settings(kafka_bootstrap, operator, f"archiver-{unique}", retry_max_s=1.0)
    archiver = Archiver(settings, archiver_client(live_stack))
    stop = asyncio.Event()
    running = asyncio.create_task(archiver.run(stop))
    publishing = asyncio.create_task(
        publish_frames(kafka_bootstrap, operator, cameras, per_camera, interval_s=0.08)
    )
    paused_seen = False
    try:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(local_minio.process(stack_settings).stop)
        try:
            for _ in range(50):  # 5 s of outage while frames keep coming
                paused_seen = paused_seen or bool(archiver.paused_partitions)
                await asyncio.sleep(0.1)
        finally:
            await asyncio.to_thread(local_minio.start, stack_settings)
            await _wait_answers(live_stack.minio_endpoint)
        sent = await publishing
        expected = sum(len(s) for s in sent.values())
        manifests = await wait_archived(minio_client, operator, expected, timeout_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
        publishing.cancel()
    assert paused_seen, "the archiver kept consuming while MinIO was down"
    assert not archiver.paused_partitions
    assert_archived_once(manifests, sent)

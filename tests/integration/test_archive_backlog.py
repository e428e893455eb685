"""A restarted archiver catching up on a backlog stores as it reads: the chunks waiting for
MinIO stay few, it never pauses as if MinIO were failing, and every frame is archived once."""

from __future__ import annotations

import asyncio

from minio import Minio

from consumers.archive.archiver import READ_BATCH, Archiver
from consumers.archive.store import archiver_client
from infra.local.settings import Connection
from tests.integration.archive_support import (
    archiver_settings,
    assert_archived_once,
    provision_operator,
    publish_frames,
    wait_archived,
)

CAMERAS = [f"cam-{n}" for n in range(10)]
PER_CAMERA = 300  # 1 s windows of 10 frames: 300 chunks in all


async def test_a_backlog_is_stored_while_it_is_read_and_archived_once(
    kafka_bootstrap: str, minio_client: Minio, live_stack: Connection, unique: str
) -> None:
    operator = f"op-{unique}"
    await provision_operator(kafka_bootstrap, minio_client, operator, cameras=len(CAMERAS))
    sent = await publish_frames(kafka_bootstrap, operator, CAMERAS, PER_CAMERA, interval_s=0)
    expected = len(CAMERAS) * PER_CAMERA
    settings = archiver_settings(
        kafka_bootstrap,
        operator,
        f"archiver-{unique}",
        idle_s=0.5,
        # Well under the backlog's 300 chunks: an archiver that read ahead of its store
        # workers without bound paused here, logging that chunks wait for MinIO.
        max_unstored_chunks=100,
        # Reading waits for a store worker, never for the clock: a cold MinIO's slow first
        # PUTs would otherwise let a batch in at every expired wait, and the bound below with it.
        read_ahead_wait_s=30.0,
    )
    archiver = Archiver(settings, archiver_client(live_stack))
    stop = asyncio.Event()
    running = asyncio.create_task(archiver.run(stop))
    most_waiting, paused = 0, False
    try:
        async with asyncio.timeout(60):
            while archiver.stored_frames < expected and not running.done():
                most_waiting = max(most_waiting, archiver.waiting_chunks)
                paused = paused or bool(archiver.paused_partitions)
                await asyncio.sleep(0.005)
        manifests = await wait_archived(minio_client, operator, expected, timeout_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
    assert not paused, "a catch-up paused as if MinIO refused its chunks"
    # On top of the bound: one read batch may close a chunk every 10 frames, and the idle
    # closes one open chunk per camera.
    assert most_waiting <= settings.read_ahead_chunks + READ_BATCH // 10 + len(CAMERAS)
    assert_archived_once(manifests, sent)

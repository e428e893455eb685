"""The archiver killed with SIGKILL at random moments while frames flow, restarted each time:
every frame a camera produced ends up in exactly one stored chunk, none lost, none twice.

Offsets are committed only every 3 s here, so each kill (1 to 3 s after the archiver got its
partitions) leaves chunks that are stored but whose offsets are not committed: the restarted
archiver re-reads them and must recognise them instead of storing them again."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

from minio import Minio

from tests.builders import eventually
from tests.integration.archive_support import (
    assert_archived_once,
    provision_operator,
    publish_frames,
    start_archiver,
    wait_archived,
)


async def test_kill_9_at_random_points_loses_and_duplicates_no_frame(
    kafka_bootstrap: str, minio_client: Minio, unique: str, tmp_path: Path
) -> None:
    operator = f"op-{unique}"
    cameras = ["cam-a", "cam-b", "cam-c", "cam-d", "cam-e"]
    per_camera = 250
    await provision_operator(kafka_bootstrap, minio_client, operator)
    publishing = asyncio.create_task(
        publish_frames(kafka_bootstrap, operator, cameras, per_camera, interval_s=0.1)
    )
    group = f"vigie-archiver-{unique}"  # the archiver principal may use its own groups only
    options = ("--default-profile", "mjpeg", "--commit-interval-seconds", "3")
    rng = random.Random(unique)
    logs = [tmp_path / f"archiver-{run}.log" for run in range(4)]
    try:
        for log in logs[:3]:
            archiver = start_archiver(operator, group, log, *options)
            await _assigned(log)
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            archiver.send_signal(signal.SIGKILL)
            await asyncio.to_thread(archiver.wait)
        log = logs[3]
        archiver = start_archiver(operator, group, log, *options)
        sent = await publishing
        expected = sum(len(s) for s in sent.values())
        manifests = await wait_archived(minio_client, operator, expected, timeout_s=60)
        archiver.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(archiver.wait, 30)
    finally:
        publishing.cancel()
    assert code == 0, _text(log)[-3000:]
    assert_archived_once(manifests, sent)
    # Chunks are cut on capture time: 1 s windows of 100 ms frames hold at most 10 frames.
    assert all(1 <= m["frame_count"] <= 10 for m in manifests)
    # The kills did hit between storing and committing.
    assert any("already stored (replay)" in _text(log) for log in logs[1:])


async def _assigned(log: Path, timeout_s: float = 30.0) -> None:
    """Wait until the archiver writing ``log`` owns partitions (a killed member holds them
    until its session times out)."""

    async def assigned() -> bool:
        return "assigned" in await asyncio.to_thread(_text, log)

    await eventually(
        assigned,
        timeout_s,
        interval_s=0.1,
        message=lambda: f"archiver never got partitions:\n{_text(log)[-2000:]}",
    )


def _text(log: Path) -> str:
    return log.read_text() if log.exists() else ""

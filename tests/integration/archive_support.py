"""Helpers of the archive tests: an operator of its own, frames that flow, manifests read back."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from minio import Minio

from consumers.archive.archiver import Archiver, ArchiverSettings
from infra.provision import SERVICE_POLICIES, ensure_buckets, ensure_service_user
from producers.publisher import Publisher
from runtime import connection
from schemas.config import ArchiveProfile
from schemas.storage import archive_bucket
from tests.builders import frame, poll
from vigie.provisioning import provision_operator_topics

WIDTH, HEIGHT = 160, 96


def jpegs(count: int = 8) -> list[bytes]:
    """Small distinct JPEGs (a moving bar), encoded once per test."""
    images = []
    for i in range(count):
        image = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
        x = i * WIDTH // count
        image[:, x : x + 12] = (0, 200, 255)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        images.append(data.tobytes())
    return images


async def provision_operator(
    bootstrap: str, minio: Minio, operator: str, cameras: int | None = None
) -> None:
    """`cameras`: a partition of the frames topic for each (the deployed layout)."""
    partitions = {operator: cameras} if cameras else None
    await provision_operator_topics(bootstrap, [operator], frame_partitions=partitions)
    await asyncio.to_thread(ensure_buckets, minio, [archive_bucket(operator)])
    # The services' own MinIO users (archiver, retrieval, evidence), as `vigie provision` does.
    for service in SERVICE_POLICIES:
        await asyncio.to_thread(
            ensure_service_user,
            connection.minio_admin(connection.load()),
            connection.state_dir(),
            service,
        )


async def publish_frames(
    bootstrap: str,
    operator: str,
    cameras: Sequence[str],
    per_camera: int,
    interval_s: float,
    capture_step: timedelta = timedelta(milliseconds=100),
    start: datetime | None = None,
) -> dict[str, list[int]]:
    """Publish ``per_camera`` frames per camera, one round every ``interval_s`` of wall-clock
    time; capture times advance by ``capture_step`` per frame. Returns the sequences sent."""
    images = jpegs()
    start = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    sent: dict[str, list[int]] = {c: [] for c in cameras}
    async with Publisher(bootstrap, client_id=f"test-{operator}") as publisher:
        for seq in range(per_camera):
            acks = []
            for camera in cameras:
                published = frame(
                    operator,
                    camera,
                    seq,
                    at=start + capture_step * seq,
                    image=images[seq % len(images)],
                    width=WIDTH,
                    height=HEIGHT,
                )
                acks.append(await publisher.publish_frame(published))
                sent[camera].append(seq)
            await asyncio.gather(*acks)
            await asyncio.sleep(interval_s)
    return sent


def read_manifests(minio: Minio, operator: str) -> list[dict[str, Any]]:
    bucket = archive_bucket(operator)
    found = []
    for obj in minio.list_objects(bucket, recursive=True):
        name = obj.object_name or ""
        if name.endswith(".json"):
            response = minio.get_object(bucket, name)
            try:
                found.append(json.loads(response.read()))
            finally:
                response.close()
                response.release_conn()
    return found


def archived_sequences(manifests: Sequence[dict[str, Any]]) -> Counter[tuple[str, int]]:
    """How many stored chunks hold each (camera, sequence)."""
    return Counter((m["camera_id"], f["sequence"]) for m in manifests for f in m["frames"])


def assert_archived_once(manifests: Sequence[dict[str, Any]], sent: dict[str, list[int]]) -> None:
    """Every frame sent (camera -> sequences) is in exactly one stored chunk, and no other."""
    counts = archived_sequences(manifests)
    produced = {(camera, seq) for camera, seqs in sent.items() for seq in seqs}
    missing = produced - counts.keys()
    twice = {key: n for key, n in counts.items() if n > 1}
    assert not missing, f"{len(missing)} frames lost, e.g. {sorted(missing)[:5]}"
    assert not twice, f"{len(twice)} frames archived more than once, e.g. {list(twice)[:5]}"
    assert counts.keys() == produced


def archiver_settings(
    bootstrap: str, operator: str, group_id: str, *, idle_s: float = 1.0, **chosen: Any
) -> ArchiverSettings:
    """An in-process archiver of one operator in 1 s windows (the tests' frames are 100 ms
    apart), with `chosen` settings on top."""
    return ArchiverSettings(
        bootstrap=bootstrap,
        group_id=group_id,
        window_s=1,
        idle_s=idle_s,
        operators=(operator,),
        **chosen,
    )


async def wait_archived(
    minio: Minio, operator: str, expected: int, timeout_s: float = 60.0
) -> list[dict[str, Any]]:
    """The operator's manifests once they hold ``expected`` frames (or at the timeout)."""
    return await poll(
        lambda: asyncio.to_thread(read_manifests, minio, operator),
        timeout_s,
        interval_s=0.5,
        until=lambda found: sum(len(m["frames"]) for m in found) >= expected,
    )


def start_archiver(operator: str, group: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`python -m consumers.archive` for one operator, 1 s windows, as a separate process."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consumers.archive",
                "--operator",
                operator,
                "--group",
                group,
                "--window-seconds",
                "1",
                "--idle-seconds",
                "1",
                "--session-timeout-ms",
                "6000",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ,
        )


async def archive_once(
    bootstrap: str,
    minio: Minio,
    operator: str,
    expected: int,
    profile: ArchiveProfile = ArchiveProfile.H264,
) -> list[dict[str, Any]]:
    """Run an archiver (in this process) until the operator's frames are stored, then stop it."""
    settings = archiver_settings(
        bootstrap, operator, f"archiver-{operator}", profiles={operator: profile}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(Archiver(settings, minio).run(stop))
    try:
        found = await wait_archived(minio, operator, expected, timeout_s=45)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    archived = sum(len(m["frames"]) for m in found)
    assert archived >= expected, f"only {archived} of {expected} frames archived after 45 s"
    return found

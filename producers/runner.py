"""Run the camera adapters of a configuration in one process (`vigie cameras run`).

Each camera has its own task; one camera's trouble never stops the others. SIGINT/SIGTERM stop
capture, flush what is queued and report the cameras offline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from producers.camera import CameraAdapter
from producers.publisher import Publisher
from producers.sequence import SequenceStore
from producers.sources.base import FrameSource
from producers.sources.file import FileSource
from producers.sources.mjpeg import MjpegSource
from producers.sources.rtsp import RtspSource
from producers.sources.snapshot import SnapshotSource
from producers.sources.synthetic import SyntheticSource
from runtime import connection
from schemas.config import Camera, CameraProfile, ConfigError, SourceKind, VigieConfig, load
from schemas.errors import VigieError
from schemas.placement import placement, unreachable
from schemas.records import CameraEvent, CameraEventKind
from schemas.topics import frames_topic

logger = logging.getLogger(__name__)

SourceFactory = Callable[[Camera, CameraProfile, str], FrameSource]

SOURCES: dict[SourceKind, SourceFactory] = {
    SourceKind.SYNTHETIC: lambda cam, profile, _url: SyntheticSource(
        cam.id, f"{cam.operator} / {cam.name}", profile.width, profile.height
    ),
    SourceKind.FILE: lambda _cam, _profile, url: FileSource(Path(url.removeprefix("file://"))),
    SourceKind.RTSP: lambda cam, _profile, url: RtspSource(url, stream=cam.stream),
    SourceKind.MJPEG: lambda _cam, _profile, url: MjpegSource(url),
    SourceKind.SNAPSHOT: lambda _cam, _profile, url: SnapshotSource(url),
}


class UnknownOperator(VigieError):
    """An operator asked for on the command line is not in the configuration."""


def make_source(camera: Camera, profile: CameraProfile) -> FrameSource:
    """The source of a camera; ConfigError when its credentials are missing from the env."""
    return SOURCES[camera.source_kind](camera, profile, camera.resolved_source(os.environ))


def select_cameras(config: VigieConfig, operators: Sequence[str] | None) -> list[Camera]:
    if not operators:
        return list(config.cameras)
    unknown = set(operators) - {o.id for o in config.operators}
    if unknown:
        known = ", ".join(sorted(o.id for o in config.operators))
        raise UnknownOperator(
            f"unknown operator(s) {', '.join(sorted(unknown))}: the configuration has {known}"
        )
    return [c for c in config.cameras if c.operator in operators]


def _source_or_reason(
    camera: Camera, profile: CameraProfile, cannot_publish: Mapping[str, str]
) -> FrameSource | str:
    """The camera's source, or why it cannot start (its credentials are missing from the
    environment, or its partition does not exist)."""
    if camera.id in cannot_publish:
        return cannot_publish[camera.id]
    try:
        return make_source(camera, profile)
    except ConfigError as exc:
        return "; ".join(issue.message for issue in exc.issues)


async def run(
    config: VigieConfig,
    operators: Sequence[str] | None,
    seconds: float,
    bootstrap: str,
    sequences: SequenceStore,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds > 0:
        loop.call_later(seconds, stop.set)
    placed = placement(config.cameras)
    async with Publisher(bootstrap, placement=placed) as publisher:
        cameras = select_cameras(config, operators)
        counts = await publisher.partition_counts({frames_topic(c.operator) for c in cameras})
        cannot_publish = unreachable(placed, counts)
        adapters = []
        for camera in cameras:
            profile = config.profile(camera.profile)
            source = _source_or_reason(camera, profile, cannot_publish)
            if isinstance(source, str):
                # Not retried: the environment will not change under a running process.
                reason = source
                logger.error("camera %s cannot start: %s", camera.id, reason)
                await publisher.publish_event(
                    CameraEvent(
                        camera_id=camera.id,
                        operator=camera.operator,
                        time=datetime.now(UTC),
                        kind=CameraEventKind.OFFLINE,
                        reason=f"configuration: {reason}",
                    )
                )
                continue
            adapters.append(CameraAdapter(camera, profile, source, publisher, sequences))
        logger.info("running %d cameras", len(adapters))
        results = await asyncio.gather(*(a.run(stop) for a in adapters), return_exceptions=True)
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                logger.error("camera %s stopped on error: %r", adapter.camera.id, result)


def main(config_path: Path, operators: Sequence[str] | None = None, seconds: float = 0.0) -> int:
    config = load(config_path)
    select_cameras(config, operators)  # an unknown operator is said before Kafka is reached
    conn = connection.load()
    sequences = SequenceStore(connection.state_dir() / "producers" / "sequences")
    asyncio.run(run(config, operators, seconds, conn.kafka_bootstrap, sequences))
    return 0

"""A frame Kafka refuses (here: larger than every size limit) is counted as dropped and the
camera keeps publishing the next ones: one bad frame never silences a camera."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import numpy as np

from producers.camera import CameraAdapter
from producers.publisher import Publisher
from producers.sequence import SequenceStore
from producers.sources.base import Image
from schemas.config import Camera, CameraProfile, Position, SourceKind
from vigie.provisioning import provision_operator_topics


class AlternatingSource:
    """Every other image is 4000x3000 noise: at JPEG quality 100 it exceeds the 8 MiB limit."""

    def __init__(self) -> None:
        self._count = 0
        self._noise = np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)

    def open(self) -> None:
        pass

    def read(self, now: datetime) -> Image:
        self._count += 1
        if self._count % 2:
            return self._noise
        return np.full((3000, 4000, 3), 90, dtype=np.uint8)

    def close(self) -> None:
        pass


async def test_a_refused_frame_is_counted_and_publishing_goes_on(
    kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    operator = f"op-{unique}"
    await provision_operator_topics(kafka_bootstrap, [operator])
    camera = Camera(
        id="cam-big", operator=operator, name="big", position=Position(lat=50.8, lon=4.3),
        zone="test", source_kind=SourceKind.SYNTHETIC, source="synthetic://x", profile="huge",
    )  # fmt: skip
    profile = CameraProfile(name="huge", width=4000, height=3000, max_fps=2, jpeg_quality=100)
    async with Publisher(kafka_bootstrap) as publisher:
        adapter = CameraAdapter(
            camera, profile, AlternatingSource(), publisher, SequenceStore(tmp_path)
        )
        stop = asyncio.Event()
        running = asyncio.create_task(adapter.run(stop))
        await asyncio.sleep(4)
        stop.set()
        await running
    assert adapter.counters.failed >= 2
    assert adapter.counters.published >= 2

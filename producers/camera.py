"""One camera's adapter loop: capture at the profile's rate, normalise, hand over to publishing.

Capture never waits on Kafka: frames go through a bounded queue, and when it is full the oldest
frame is dropped and counted (a live view wants the newest image, not a backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from producers.frames import FrameProcessor, Processed
from producers.publisher import Publisher, PublishError
from producers.sequence import SequenceStore
from producers.sources.base import FrameSource, SourceError
from schemas.config import Camera, CameraProfile
from schemas.records import CameraEvent, CameraEventKind, CameraHealth, Frame

logger = logging.getLogger(__name__)
# Kafka delivery failures come once per frame or event while Kafka is down: this logger's
# repeats are aggregated (runtime.logs), one line per kind of failure per interval.
delivery_logger = logging.getLogger(f"{__name__}.delivery")

HEALTH_INTERVAL_S = 10.0
RETRY_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass
class Counters:
    published: int = 0
    dropped: int = 0
    failed: int = 0
    bytes: int = 0

    def reset(self) -> Counters:
        snapshot = Counters(self.published, self.dropped, self.failed, self.bytes)
        self.published = self.dropped = self.failed = self.bytes = 0
        return snapshot


@dataclass
class DropOldestQueue:
    """A bounded FIFO whose put never blocks: when full, the oldest item is discarded."""

    capacity: int
    _items: deque[Frame] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, item: Frame) -> bool:
        """Add an item; False when an older item had to be dropped for it."""
        dropped = len(self._items) >= self.capacity
        if dropped:
            self._items.popleft()
        self._items.append(item)
        self._ready.set()
        return not dropped

    async def get(self) -> Frame:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


class CameraAdapter:
    def __init__(
        self,
        camera: Camera,
        profile: CameraProfile,
        source: FrameSource,
        publisher: Publisher,
        sequences: SequenceStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.camera = camera
        self.profile = profile
        self._source = source
        self._publisher = publisher
        self._processor = FrameProcessor(camera, profile, sequences)
        self._clock = clock
        self._queue = DropOldestQueue(capacity=max(2, int(profile.max_fps * 2)))
        self.counters = Counters()

    def _event(
        self, kind: CameraEventKind, reason: str | None = None, health: CameraHealth | None = None
    ) -> CameraEvent:
        return CameraEvent(
            camera_id=self.camera.id,
            operator=self.camera.operator,
            time=self._clock(),
            kind=kind,
            reason=reason,
            health=health,
        )

    async def _emit(self, event: CameraEvent) -> None:
        """Publish a camera event. Kafka failing is not a camera failure: it is logged and
        capture goes on (it used to end up in the source-retry path and stop the adapter)."""
        try:
            await self._publisher.publish_event(event)
        except PublishError:
            delivery_logger.exception(
                "camera %s: %s event not published", self.camera.id, event.kind.value
            )

    def _capture_one(self) -> Processed:
        """Blocking: read one image and turn it into a frame (runs in a worker thread)."""
        image = self._source.read(self._clock())
        # Stamped when the image is in hand: a network source's read() waits for the next frame.
        return self._processor.process(image, self._clock())

    async def run(self, stop: asyncio.Event) -> None:
        publishing = asyncio.create_task(self._publish_loop(), name=f"publish-{self.camera.id}")
        publishing.add_done_callback(self._publishing_ended)
        try:
            await self._capture_with_retries(stop)
        finally:
            publishing.cancel()
            await asyncio.gather(publishing, return_exceptions=True)
            await self._drain()
            await self._emit(self._event(CameraEventKind.OFFLINE, "adapter stopped"))

    async def _capture_with_retries(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._source.open)
                self._processor.reset_analysis()
                await self._emit(self._event(CameraEventKind.ONLINE))
                attempt = 0
                await self._capture_loop(stop)
            except SourceError as exc:
                reason = str(exc)
                logger.warning("camera %s: %s", self.camera.id, reason)
            except Exception as exc:
                reason = f"adapter error: {exc!r}"
                logger.exception("camera %s: unexpected error", self.camera.id)
            else:
                continue
            delay = RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)]
            attempt += 1
            await self._emit(self._event(CameraEventKind.OFFLINE, reason))
            await asyncio.to_thread(self._source.close)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                await self._emit(self._event(CameraEventKind.RECONNECTING))
        await asyncio.to_thread(self._source.close)

    async def _capture_loop(self, stop: asyncio.Event) -> None:
        interval = 1.0 / self.profile.max_fps
        next_at = time.monotonic()
        last_health = time.monotonic()
        while not stop.is_set():
            processed = await asyncio.to_thread(self._capture_one)
            if not self._queue.put(processed.frame):
                self.counters.dropped += 1
            for event in processed.events:
                await self._emit(event)
            if time.monotonic() - last_health >= HEALTH_INTERVAL_S:
                await self._report_health(time.monotonic() - last_health)
                last_health = time.monotonic()
            next_at += interval
            delay = next_at - time.monotonic()
            if delay < 0:  # capture slower than the profile's rate: do not try to catch up
                next_at = time.monotonic()
                delay = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _report_health(self, elapsed_s: float) -> None:
        c = self.counters.reset()
        health = CameraHealth(
            achieved_fps=c.published / elapsed_s,
            dropped_frames=c.dropped + c.failed,  # not delivered, whatever the cause
            bytes_per_second=c.bytes / elapsed_s,
            frames_published=c.published,
        )
        await self._emit(self._event(CameraEventKind.HEALTH, health=health))

    def _publishing_ended(self, task: asyncio.Task[None]) -> None:
        # Only cancellation should end it; anything else would silently starve the queue.
        if not task.cancelled() and task.exception() is not None:
            logger.error("camera %s: publishing stopped", self.camera.id, exc_info=task.exception())

    async def _publish_loop(self) -> None:
        while True:
            frame = await self._queue.get()
            await self._publish(frame)

    async def _publish(self, frame: Frame) -> None:
        try:
            ack = await self._publisher.publish_frame(frame)
        except PublishError:
            # Refused before it was even queued (queue full past the wait, frame too large):
            # counted and reported in health events; publishing goes on.
            self.counters.failed += 1
            delivery_logger.exception(
                "camera %s: frame #%d not published", self.camera.id, frame.sequence
            )
            return
        size = len(frame.image)
        ack.add_done_callback(lambda fut: self._acked(fut, size))

    def _acked(self, fut: asyncio.Future[object], size: int) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self.counters.failed += 1
            delivery_logger.error(
                "camera %s: frame not acknowledged: %s",
                self.camera.id,
                "cancelled" if fut.cancelled() else fut.exception(),
            )
            return
        self.counters.published += 1
        self.counters.bytes += size

    async def _drain(self) -> None:
        """On shutdown, publish what the queue still holds, then wait for the acks."""
        while len(self._queue):
            await self._publish(await self._queue.get())
        await self._publisher.flush()

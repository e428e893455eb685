"""The Kafka edge of the camera adapters: frames and camera events, keyed by camera id.

Idempotent producer (acks=all); the request size is raised to the frame topics' maximum so a
large frame is never refused by the client while the broker would accept it. Connections to a
broker that is down are retried with a backoff (runtime.reconnect): without it aiokafka retries
in a busy loop and logs thousands of errors a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber

from runtime import kafka_clients
from schemas.codec import CAMERA_EVENT, FRAME
from schemas.headers import frame_headers
from schemas.placement import Placement
from schemas.records import CameraEvent, Frame
from schemas.topics import camera_events_topic, frames_topic

logger = logging.getLogger(__name__)

STOP_OLD_S = 5.0
EVENT_PARTITIONS_MARGIN = 16
"""Partitions written besides the cameras' own: camera events, cameras not placed."""


class Publisher:
    def __init__(
        self,
        bootstrap: str,
        client_id: str = "vigie-cameras",
        placement: Placement | None = None,
    ) -> None:
        """`placement`: each configured camera's partition of its frames topic (a router
        reads only the partitions of shared cameras); a camera not in it is hashed by key."""
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._placement = placement or Placement({})
        self._producer = self._new_producer()
        self._sequence_lost = False

    def _new_producer(self) -> AIOKafkaProducer:
        # One batch per partition written, and a request holds them all: many cameras, smaller
        # batches (kafka_clients.REQUEST_BUDGET).
        partitions = len(self._placement.slots) + EVENT_PARTITIONS_MARGIN
        return kafka_clients.producer(
            self._bootstrap,
            client_id=self._client_id,
            linger_ms=5,
            max_batch_size=kafka_clients.batch_bytes(partitions),
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    def _watch(self, ack: asyncio.Future[Any]) -> None:
        """After an outage longer than the request timeout, aiokafka's idempotent producer has
        used up the sequence numbers of the batches that expired unsent; the broker then
        refuses everything after the gap and the producer never recovers (aio-libs/aiokafka
        #1017). Seen on an ack, the producer is replaced before the next send."""

        def check(done: asyncio.Future[Any]) -> None:
            if not done.cancelled() and isinstance(done.exception(), OutOfOrderSequenceNumber):
                self._sequence_lost = True

        ack.add_done_callback(check)

    async def _ready(self) -> AIOKafkaProducer:
        if self._sequence_lost:
            self._sequence_lost = False
            logger.warning(
                "the Kafka producer lost its sequence after an outage: starting a new one"
            )
            old, self._producer = self._producer, self._new_producer()
            await self._producer.start()
            try:
                await asyncio.wait_for(old.stop(), STOP_OLD_S)
            except (TimeoutError, KafkaError) as exc:
                logger.warning("the old producer did not stop cleanly: %r", exc)
        return self._producer

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # stop() flushes what is queued before closing.
        await self._producer.stop()

    async def partition_counts(self, topics: Iterable[str]) -> dict[str, int]:
        """The partition count of each of `topics` the broker knows (metadata request)."""
        counts: dict[str, int] = {}
        for topic in topics:
            partitions = await self._producer.partitions_for(topic)
            if partitions:
                counts[topic] = len(partitions)
        return counts

    async def publish_frame(self, frame: Frame) -> asyncio.Future[Any]:
        """Queue a frame; returns the future of its broker acknowledgement."""
        producer = await self._ready()
        slot = self._placement.slots.get(frame.camera_id)
        ack: asyncio.Future[Any] = await producer.send(
            frames_topic(frame.operator),
            value=FRAME.encode(frame),
            key=frame.camera_id.encode(),
            headers=frame_headers(frame),
            partition=slot[1] if slot is not None and slot[0] == frame.operator else None,
        )
        self._watch(ack)
        return ack

    async def publish_event(self, event: CameraEvent) -> None:
        producer = await self._ready()
        ack: asyncio.Future[Any] = await producer.send(
            camera_events_topic(event.operator),
            value=CAMERA_EVENT.encode(event),
            key=event.camera_id.encode(),
        )
        self._watch(ack)
        await ack

    async def flush(self) -> None:
        await self._producer.flush()

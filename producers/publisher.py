"""The Kafka edge of the camera adapters: frames and camera events, keyed by camera id.

Idempotent producer (acks=all); the request size is raised to the frame topics' maximum so a
large frame is never refused by the client while the broker would accept it. Connections to a
broker that is down are retried with a backoff (vigie.reconnect): without it aiokafka retries
in a busy loop and logs thousands of errors a second.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.codec import CAMERA_EVENT, FRAME
from schemas.headers import frame_headers
from schemas.records import CameraEvent, Frame
from schemas.topics import MAX_FRAME_BYTES, camera_events_topic, frames_topic
from vigie.reconnect import with_backoff

logger = logging.getLogger(__name__)


class Publisher:
    def __init__(self, bootstrap: str, client_id: str = "vigie-cameras") -> None:
        self._producer = with_backoff(
            AIOKafkaProducer(
                bootstrap_servers=bootstrap,
                client_id=client_id,
                enable_idempotence=True,
                max_request_size=MAX_FRAME_BYTES,
                linger_ms=5,
            )
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # stop() flushes what is queued before closing.
        await self._producer.stop()

    async def publish_frame(self, frame: Frame) -> asyncio.Future[Any]:
        """Queue a frame; returns the future of its broker acknowledgement."""
        ack: asyncio.Future[Any] = await self._producer.send(
            frames_topic(frame.operator),
            value=FRAME.encode(frame),
            key=frame.camera_id.encode(),
            headers=frame_headers(frame),
        )
        return ack

    async def publish_event(self, event: CameraEvent) -> None:
        await self._producer.send_and_wait(
            camera_events_topic(event.operator),
            value=CAMERA_EVENT.encode(event),
            key=event.camera_id.encode(),
        )

    async def flush(self) -> None:
        await self._producer.flush()

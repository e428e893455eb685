"""The Kafka edge of the camera adapters: frames and camera events, keyed by camera id, each
frame on its camera's partition.

On librdkafka (confluent-kafka) rather than aiokafka: publishing frames is all an adapter does
with Kafka, and librdkafka batches, encrypts and sends in its own threads, where aiokafka does it
in Python on the event loop that also captures (kafka-baseline, 30 KB records over TLS on this
machine: confluent-kafka produces about twice as fast as aiokafka; docs/benchmarks.md). Its
requests are capped by ``message.max.bytes`` (aiokafka's are not: one batch per partition, with
a partition per camera that made requests the broker refused).

Idempotent producer (acks=all). ``publish_frame`` returns an asyncio future of the broker's
acknowledgement; a frame refused (too large, the local queue full while Kafka is away) raises
or fails that future with :class:`PublishError`. A frame not acknowledged within
``DELIVERY_TIMEOUT_S`` fails: a live view wants new frames, not a backlog from an outage.
librdkafka reconnects with its own backoff, and its log lines go to the ``librdkafka`` logger,
whose repeats are aggregated (runtime.logs).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from runtime import kafka_clients
from schemas.codec import CAMERA_EVENT, FRAME
from schemas.errors import VigieError
from schemas.headers import frame_headers
from schemas.placement import Placement
from schemas.records import CameraEvent, Frame
from schemas.topics import camera_events_topic, frames_topic

__all__ = ["PublishError", "Publisher"]

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 30.0
"""A frame not acknowledged by then is given up (counted as failed by the adapter)."""
QUEUE_KBYTES = 256 * 1024
"""Frames held in the producer while Kafka is slow or away (librdkafka's default is 1 GiB)."""
FULL_QUEUE_WAIT_S = 5.0
"""How long a frame waits for room in a full queue before it is refused."""
POLL_S = 0.05
CONNECT_WAIT_S = 10.0


class PublishError(VigieError, RuntimeError):
    """Kafka did not take a frame or event (refused, or not acknowledged in time)."""


def producer_config(bootstrap: str, client_id: str) -> dict[str, Any]:
    """librdkafka settings of the camera publisher (pure), security added at start."""
    return {
        **kafka_clients.librdkafka_producer(bootstrap, client_id),
        "queue.buffering.max.kbytes": QUEUE_KBYTES,
        "message.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000),
    }


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
        self._producer: Producer | None = None
        self._polling: threading.Thread | None = None
        self._closing = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> Publisher:
        config = producer_config(self._bootstrap, self._client_id)
        # Authenticated as this process's principal (SASL/SCRAM over TLS), like every client.
        config.update(kafka_clients.librdkafka_security())
        config["logger"] = logging.getLogger("librdkafka")
        self._loop = asyncio.get_running_loop()
        self._producer = Producer(config)
        # Delivery reports are served by this thread; each resolves its future on the loop.
        self._polling = threading.Thread(
            target=self._poll, name=f"{self._client_id}-deliveries", daemon=True
        )
        self._polling.start()
        await self._connected()
        return self

    async def _connected(self) -> None:
        """Wait for a first metadata answer (connection, TLS, SCRAM), as aiokafka's start()
        did: frames captured before it would wait in the queue. Kafka away at start is not an
        error: librdkafka keeps connecting, and frames wait or are given up as in an outage."""
        try:
            await asyncio.to_thread(self._live.list_topics, None, CONNECT_WAIT_S)
        except KafkaException as exc:
            logger.warning("Kafka not reachable yet (%s): publishing as soon as it is", exc)

    def _poll(self) -> None:
        producer = self._live
        while not self._closing.is_set():
            producer.poll(POLL_S)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.flush()
        finally:
            self._closing.set()
            if self._polling is not None:
                await asyncio.to_thread(self._polling.join, 10)

    async def flush(self) -> None:
        """Wait until every queued frame and event is acknowledged or given up."""
        left = await asyncio.to_thread(self._live.flush, DELIVERY_TIMEOUT_S + 5)
        if left:
            logger.warning("%d frames or events still unacknowledged at flush", left)

    async def partition_counts(self, topics: Iterable[str]) -> dict[str, int]:
        """The partition count of each of `topics` the broker knows (metadata request)."""
        counts: dict[str, int] = {}
        for topic in topics:
            metadata = await asyncio.to_thread(self._live.list_topics, topic, 10)
            found = metadata.topics.get(topic)
            if found is not None and found.error is None and found.partitions:
                counts[topic] = len(found.partitions)
        return counts

    async def publish_frame(self, frame: Frame) -> asyncio.Future[Any]:
        """Queue a frame; returns the future of its broker acknowledgement."""
        slot = self._placement.slots.get(frame.camera_id)
        return await self._produce(
            frames_topic(frame.operator),
            FRAME.encode(frame),
            frame.camera_id.encode(),
            frame_headers(frame),
            slot[1] if slot is not None and slot[0] == frame.operator else None,
        )

    async def publish_event(self, event: CameraEvent) -> None:
        ack = await self._produce(
            camera_events_topic(event.operator),
            CAMERA_EVENT.encode(event),
            event.camera_id.encode(),
            None,
            None,
        )
        await ack

    async def _produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        headers: Any,  # list[tuple[str, bytes]] | None
        partition: int | None,
    ) -> asyncio.Future[Any]:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the publisher is not started")
        ack: asyncio.Future[Any] = loop.create_future()

        def settle(error: KafkaError | None) -> None:
            if ack.done():
                return
            if error is None:
                ack.set_result(None)
            else:
                ack.set_exception(PublishError(f"{topic}: {error.str()}"))

        def delivered(error: KafkaError | None, _message: Message) -> None:
            loop.call_soon_threadsafe(settle, error)

        extra: dict[str, Any] = {} if partition is None else {"partition": partition}
        waited = 0.0
        while True:
            try:
                self._live.produce(
                    topic, value, key, headers=headers, on_delivery=delivered, **extra
                )
            except BufferError:
                # The local queue is full (Kafka slow or away): wait for room, not forever.
                if waited >= FULL_QUEUE_WAIT_S:
                    raise PublishError(
                        f"{topic}: the producer's queue has been full for {waited:.0f} s"
                    ) from None
                await asyncio.sleep(0.05)
                waited += 0.05
            except KafkaException as exc:  # refused before queueing (e.g. too large)
                raise PublishError(f"{topic}: {exc.args[0].str()}") from exc
            else:
                return ack

    @property
    def _live(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("the publisher is not started")
        return self._producer

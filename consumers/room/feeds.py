"""The Kafka edge of the room: each operator's picture is fed from the topics that operator's
principal may read, read *as that principal*, so the broker enforces the same rights again.

Incident events are read from the beginning of `incidents.<operator>` (the list of incidents
and the grants in force are rebuilt from them); frames, shared frames and camera events from
now on (the room shows the present; the archive holds the past). No consumer group: nothing
is committed, and no group of another principal can be joined.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from consumers.room.live_view import CamerasView
from consumers.room.picture import OperatorPicture
from runtime import kafka_clients
from runtime.identity import KafkaAuth
from runtime.topic_reader import follow_topics
from schemas.codec import CAMERA, CAMERA_EVENT, FRAME, INCIDENT_EVENT, DecodeError
from schemas.headers import HEADER_CAMERA
from schemas.topics import (
    CAMERAS,
    camera_events_topic,
    frames_topic,
    incidents_topic,
    shared_topic,
)

__all__ = ["apply_record", "follow_operator", "frame_problem"]

logger = logging.getLogger(__name__)


def frame_problem(record: ConsumerRecord[bytes, bytes], body_camera: str) -> str | None:
    """Why a frame must not be shown: its body names another camera than its headers or key
    (a forged or corrupted frame is never displayed under a camera it does not belong to)."""
    headers = dict(record.headers or ())
    named = headers.get(HEADER_CAMERA)
    if named is None or named.decode(errors="replace") != body_camera:
        return f"body camera {body_camera!r} differs from header {HEADER_CAMERA} {named!r}"
    if record.key is not None and record.key != body_camera.encode():
        return f"body camera {body_camera!r} differs from the message key {record.key!r}"
    return None


def apply_record(view: CamerasView, record: ConsumerRecord[bytes, bytes]) -> None:
    """A frame (own or shared) or a camera event into `view`; an undecodable or forged record
    is logged and left out."""
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    try:
        if record.topic == camera_events_topic(view.operator):
            view.on_camera_event(CAMERA_EVENT.decode(record.value or b""))
            return
        frame = FRAME.decode(record.value or b"")
    except DecodeError as exc:
        logger.warning("%s undecodable: %s", where, exc.reason)
        return
    problem = frame_problem(record, frame.camera_id)
    if problem is not None:
        logger.warning("%s not shown: %s", where, problem)
        return
    view.on_frame(
        record.topic, frame.camera_id, frame.operator, frame.sequence, frame.capture_time,
        frame.image,
    )  # fmt: skip


def _consumer(bootstrap: str, auth: KafkaAuth, *topics: str, reset: str) -> AIOKafkaConsumer:
    return kafka_clients.consumer(
        bootstrap,
        *topics,
        client_id=f"vigie-room-{auth.username}",
        group_id=None,
        auth=auth,
        auto_offset_reset=reset,
    )


async def _history(
    picture: OperatorPicture,
    bootstrap: str,
    auth: KafkaAuth,
    stop: asyncio.Event,
    caught_up: Callable[[], None],
) -> None:
    """The camera registry and the incident events, from their beginning, then as they come."""

    def handle(record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            if record.topic == CAMERAS:
                picture.on_registry(CAMERA.decode(record.value or b""))
            else:
                picture.on_incident(INCIDENT_EVENT.decode(record.value or b""))
        except DecodeError as exc:
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            logger.warning("%s undecodable: %s", where, exc.reason)

    topics = (CAMERAS, incidents_topic(picture.operator))
    await follow_topics(bootstrap, topics, handle, stop, auth=auth, caught_up=caught_up)


async def _live(
    picture: OperatorPicture, bootstrap: str, auth: KafkaAuth, stop: asyncio.Event
) -> None:
    op = picture.operator
    topics = (frames_topic(op), shared_topic(op), camera_events_topic(op))
    consumer = _consumer(bootstrap, auth, *topics, reset="latest")
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=300, max_records=500)
            for records in batch.values():
                for record in records:
                    apply_record(picture.view, record)
    finally:
        await consumer.stop()


async def follow_operator(
    picture: OperatorPicture,
    bootstrap: str,
    auth: KafkaAuth,
    stop: asyncio.Event,
    caught_up: Callable[[], None] = lambda: None,
) -> None:
    """Feed `picture` until `stop` is set; `caught_up` once its history is read."""
    # A task group: when one fails the other is cancelled, and the caller restarts both.
    async with asyncio.TaskGroup() as group:
        group.create_task(_history(picture, bootstrap, auth, stop, caught_up))
        group.create_task(_live(picture, bootstrap, auth, stop))

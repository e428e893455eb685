"""The Kafka edge of a dashboard: feeds one operator's DashboardView from the topics that
operator may read (its own frames and events, frames shared with it, the incidents that concern
it, the registry)."""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiokafka import ConsumerRecord

from consumers.dashboard.view import DashboardView
from runtime import kafka_clients
from runtime.topic_reader import read_partitions
from schemas.codec import CAMERA, CAMERA_EVENT, FRAME, INCIDENT_EVENT, DecodeError
from schemas.headers import HEADER_CAMERA
from schemas.security import operator_principal
from schemas.topics import (
    CAMERAS,
    camera_events_topic,
    frames_topic,
    incidents_topic,
    shared_topic,
)

logger = logging.getLogger(__name__)


def topics_for(operator: str) -> list[str]:
    """Everything a dashboard of `operator` reads; never another operator's frames topic."""
    return [
        frames_topic(operator),
        shared_topic(operator),
        camera_events_topic(operator),
        # Only the incidents that concern this operator: the broker refuses the others.
        incidents_topic(operator),
    ]


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


def apply_record(view: DashboardView, record: ConsumerRecord[bytes, bytes]) -> None:
    value = record.value or b""
    try:
        if record.topic == CAMERAS:
            view.on_registry(CAMERA.decode(value))
        elif record.topic == incidents_topic(view.operator):
            view.on_incident(INCIDENT_EVENT.decode(value))
        elif record.topic == camera_events_topic(view.operator):
            view.on_camera_event(CAMERA_EVENT.decode(value))
        else:
            frame = FRAME.decode(value)
            problem = frame_problem(record, frame.camera_id)
            if problem is not None:
                logger.warning(
                    "%s[%d]@%d not shown: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    problem,
                )
                return
            view.on_frame(
                record.topic,
                frame.camera_id,
                frame.operator,
                frame.sequence,
                frame.capture_time,
                frame.image,
            )
    except DecodeError as exc:
        logger.warning(
            "%s[%d]@%d undecodable: %s", record.topic, record.partition, record.offset, exc.reason
        )


async def load_registry(view: DashboardView, bootstrap: str) -> None:
    """The whole compacted camera registry, read once at start (names and positions)."""
    for records in (await read_partitions(bootstrap, CAMERAS)).values():
        for record in records:
            apply_record(view, record)


async def follow(view: DashboardView, bootstrap: str, stop: asyncio.Event) -> None:
    """Live frames, events and incidents from now on (a dashboard shows the present)."""
    await load_registry(view, bootstrap)
    consumer = kafka_clients.consumer(
        bootstrap,
        *topics_for(view.operator),
        client_id=f"vigie-dashboard-{view.operator}",
        # Group ids start with the principal: its ACLs allow only its own groups.
        group_id=f"{operator_principal(view.operator)}-dashboard-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=300, max_records=500)
            for records in batch.values():
                for record in records:
                    apply_record(view, record)
    finally:
        await consumer.stop()

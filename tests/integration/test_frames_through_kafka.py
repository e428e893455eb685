"""Frames published by the camera adapters' publisher arrive through the real Kafka: keyed by
camera, routing metadata in headers, Avro single-object encoded, in per-camera order, and large
frames pass every size limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from producers.publisher import Publisher
from runtime import kafka_clients
from schemas.codec import CAMERA_EVENT, FRAME, peek_fingerprint
from schemas.headers import parse_frame_headers
from schemas.records import CameraEvent, CameraEventKind, Frame
from schemas.topics import camera_events_topic, frames_topic
from tests.builders import frame
from vigie.provisioning import provision_operator_topics


@pytest.fixture
async def operator(kafka_bootstrap: str, unique: str) -> str:
    op = f"op-{unique}"
    await provision_operator_topics(kafka_bootstrap, [op])
    return op


@pytest.fixture
async def consumer(kafka_bootstrap: str, operator: str) -> AsyncIterator[AIOKafkaConsumer]:
    c = kafka_clients.consumer(
        kafka_bootstrap,
        frames_topic(operator),
        camera_events_topic(operator),
        client_id="test-frames",
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


def _frame(operator: str, camera: str, seq: int, image: bytes, at: datetime) -> Frame:
    return frame(
        operator, camera, seq, at=at, image=image, width=640, height=360, privacy_masked=True
    )


async def _collect(consumer: AIOKafkaConsumer, count: int) -> list[object]:
    records: list[object] = []
    for _ in range(60):
        batch = await consumer.getmany(timeout_ms=500)
        records += [r for rs in batch.values() for r in rs]
        if len(records) >= count:
            break
    return records


async def test_frames_arrive_decodable_with_routing_headers_in_camera_order(
    kafka_bootstrap: str, operator: str, consumer: AIOKafkaConsumer
) -> None:
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    cameras = ["cam-a", "cam-b", "cam-c"]
    async with Publisher(kafka_bootstrap) as publisher:
        for seq in range(20):
            for camera in cameras:
                at = start + timedelta(milliseconds=200 * seq)
                await publisher.publish_frame(_frame(operator, camera, seq, b"\xff\xd8jpeg", at))
        await publisher.flush()

    records = await _collect(consumer, 60)
    assert len(records) == 60
    by_camera: dict[str, list[int]] = {}
    for r in records:
        routing = parse_frame_headers(list(r.headers))  # type: ignore[attr-defined]
        frame = FRAME.decode(r.value)  # type: ignore[attr-defined]
        assert r.key == frame.camera_id.encode()  # type: ignore[attr-defined]
        assert routing.camera_id == frame.camera_id
        assert routing.operator == operator
        assert routing.sequence == frame.sequence
        assert routing.capture_time_us == int(frame.capture_time.timestamp() * 1_000_000)
        assert peek_fingerprint(r.value) == FRAME.fingerprint  # type: ignore[attr-defined]
        assert frame.privacy_masked
        by_camera.setdefault(frame.camera_id, []).append(frame.sequence)
    # Key = camera id, so each camera's frames share a partition and keep their order.
    assert by_camera == {camera: list(range(20)) for camera in cameras}


async def test_a_large_frame_passes_every_size_limit(
    kafka_bootstrap: str, operator: str, consumer: AIOKafkaConsumer
) -> None:
    """A 5 MB frame (a 4K JPEG at high quality) is not refused by producer, broker or topic."""
    image = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    at = datetime.now(UTC)
    async with Publisher(kafka_bootstrap) as publisher:
        ack = await publisher.publish_frame(_frame(operator, "cam-4k", 0, image, at))
        await ack
    records = await _collect(consumer, 1)
    assert len(records) == 1
    assert FRAME.decode(records[0].value).image == image  # type: ignore[attr-defined]


async def test_camera_events_are_published_on_the_operator_events_topic(
    kafka_bootstrap: str, operator: str, consumer: AIOKafkaConsumer
) -> None:
    event = CameraEvent(
        camera_id="cam-a",
        operator=operator,
        time=datetime.now(UTC),
        kind=CameraEventKind.OFFLINE,
        reason="connection refused",
    )
    async with Publisher(kafka_bootstrap) as publisher:
        await publisher.publish_event(event)
    records = await _collect(consumer, 1)
    assert [CAMERA_EVENT.decode(r.value) for r in records] == [event]  # type: ignore[attr-defined]

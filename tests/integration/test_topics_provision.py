"""Topics are provisioned from the catalogue with its configs, idempotently, and drift is seen
(checked through Kafka's admin API, as an operations team would)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from infra.provision import describe_topics, provision_topics
from runtime import kafka_clients
from schemas.topics import GRANTS, MAX_FRAME_BYTES, catalogue, frames_topic


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = kafka_clients.admin(kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def test_provisioned_topics_carry_the_catalogue_configs(
    admin: AIOKafkaAdminClient, unique: str
) -> None:
    operator = f"op-{unique}"
    specs = catalogue([operator])
    first = await provision_topics(admin, specs)
    created = {s.name for s in first.create}
    assert frames_topic(operator) in created

    existing = await describe_topics(admin, [s.name for s in specs])
    frames = existing[frames_topic(operator)]
    spec = next(s for s in specs if s.name == frames_topic(operator))
    assert frames.partitions == spec.partitions
    assert frames.configs["max.message.bytes"] == str(MAX_FRAME_BYTES)
    assert frames.configs["retention.ms"] == spec.configs["retention.ms"]
    assert existing[GRANTS].configs["cleanup.policy"] == "compact"


async def test_second_provisioning_creates_nothing_and_reports_no_drift(
    admin: AIOKafkaAdminClient, unique: str
) -> None:
    specs = catalogue([f"op-{unique}"])
    await provision_topics(admin, specs)
    again = await provision_topics(admin, specs)
    assert again.create == []
    assert again.drift == []
    assert sorted(again.unchanged) == sorted(s.name for s in specs)


async def test_a_config_changed_by_hand_is_reported_as_drift(
    admin: AIOKafkaAdminClient, unique: str
) -> None:
    operator = f"op-{unique}"
    specs = catalogue([operator])
    await provision_topics(admin, specs)
    await admin.alter_configs(
        [
            ConfigResource(
                ConfigResourceType.TOPIC,
                frames_topic(operator),
                {"retention.ms": "1000", "max.message.bytes": str(MAX_FRAME_BYTES)},
            )
        ]
    )
    expected = (frames_topic(operator), "retention.ms", "1000")
    drifted: set[tuple[str, str, str]] = set()
    for _ in range(50):  # the change reaches the broker through the metadata log, not at once
        again = await provision_topics(admin, specs)
        drifted = {(d.topic, d.what, d.actual) for d in again.drift}
        if expected in drifted:
            break
        await asyncio.sleep(0.2)
    assert expected in drifted
    assert again.create == []


async def test_a_frames_topic_grows_when_cameras_are_added_and_keeps_its_frames(
    admin: AIOKafkaAdminClient, unique: str
) -> None:
    """Each camera has its own partition: cameras added to the configuration grow the frames
    topic at the next provisioning (the other topics are left as they are)."""
    operator = f"op-{unique}"
    await provision_topics(admin, catalogue([operator], frame_partitions={operator: 3}))
    grown = await provision_topics(admin, catalogue([operator], frame_partitions={operator: 5}))
    assert [s.name for s in grown.grow] == [frames_topic(operator)]
    assert grown.drift == []
    existing = await describe_topics(admin, [frames_topic(operator)])
    assert existing[frames_topic(operator)].partitions == 5
    again = await provision_topics(admin, catalogue([operator], frame_partitions={operator: 4}))
    assert again.grow == []
    assert again.drift == []  # more partitions than cameras (one removed) is not drift

"""Provisioning against the real services: Kafka topics from the catalogue, MinIO buckets.

Idempotent: what exists is left alone and compared with the catalogue; drift is reported, never
"fixed" silently (changing partitions of a keyed topic would break per-camera ordering).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code
from minio import Minio

from schemas.topics import ExistingTopic, ProvisionPlan, TopicSpec, plan

logger = logging.getLogger(__name__)


class ProvisionError(RuntimeError):
    """The cluster refused to create a topic or bucket."""


async def describe_topics(
    admin: AIOKafkaAdminClient, names: Sequence[str]
) -> dict[str, ExistingTopic]:
    """Partitions and explicitly set configs of the topics among `names` that exist."""
    present = set(await admin.list_topics()) & set(names)
    if not present:
        return {}
    partitions = {
        t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(sorted(present))
    }
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(present)]
    configs: dict[str, dict[str, str]] = {name: {} for name in present}
    for response in await admin.describe_configs(resources):
        for _code, _msg, _type, name, entries in response.resources:
            for entry in entries:
                key, value = entry[0], entry[1]
                configs[name][key] = value
    return {n: ExistingTopic(n, partitions[n], configs[n]) for n in present}


async def provision_topics(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], replication_factor: int = 1
) -> ProvisionPlan:
    existing = await describe_topics(admin, [s.name for s in specs])
    todo = plan(specs, existing)
    if todo.create:
        response = await admin.create_topics(
            [
                NewTopic(s.name, s.partitions, replication_factor, topic_configs=dict(s.configs))
                for s in todo.create
            ]
        )
        for name, code, *rest in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                message = rest[0] if rest else ""
                raise ProvisionError(f"creating topic {name}: {for_code(code).__name__} {message}")
        await wait_for_leaders(admin, [s.name for s in todo.create])
        for spec in todo.create:
            logger.info("topic %s created (%d partitions)", spec.name, spec.partitions)
    for drift in todo.drift:
        logger.warning("topic drift: %s", drift)
    return todo


async def wait_for_leaders(
    admin: AIOKafkaAdminClient, names: Sequence[str], timeout_s: float = 30.0
) -> None:
    """Wait until every partition of the new topics has a leader: creation returns before
    the metadata has propagated, and a producer sending then would get NotLeader errors."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    pending = set(names)
    while pending:
        for topic in await admin.describe_topics(sorted(pending)):
            partitions = topic["partitions"]
            if (
                topic["error_code"] == 0
                and partitions
                and all(p["leader"] >= 0 for p in partitions)
            ):
                pending.discard(topic["topic"])
        if not pending:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise ProvisionError(
                f"topics without a leader after {timeout_s:.0f} s: {sorted(pending)}"
            )
        await asyncio.sleep(0.1)


def ensure_buckets(client: Minio, buckets: Iterable[str], object_lock: bool = True) -> list[str]:
    """Create the missing buckets; returns those created. Object lock can only be enabled at
    creation (it also turns on versioning), so archive buckets get it from the start."""
    created: list[str] = []
    for bucket in buckets:
        if client.bucket_exists(bucket):
            continue
        client.make_bucket(bucket, object_lock=object_lock)
        logger.info("bucket %s created (object lock %s)", bucket, "on" if object_lock else "off")
        created.append(bucket)
    return created

"""Read a whole topic (or some partitions of it) up to the end offsets taken when reading starts.

A client utility shared by every stage that rebuilds state from a
topic instead of consuming it as a group: the policy worker's grant index and audit chain heads,
the retrieval service's grants, the dashboard's camera registry, `vigie audit verify`,
`vigie incident list`. No consumer group, no offset commits: partitions are assigned
explicitly (found through the admin API: a consumer's metadata only covers topics it already
uses) and read from the beginning.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from runtime import kafka_clients
from runtime.identity import KafkaAuth
from schemas.errors import VigieError

__all__ = ["TopicNotFound", "partitions_of", "read_partitions", "read_topic", "reader"]


class TopicNotFound(VigieError, LookupError):
    """The topic does not exist on the cluster."""


def reader(
    bootstrap: str, client_id: str = "vigie-reader", auth: KafkaAuth | None = None
) -> AIOKafkaConsumer:
    """A consumer without a group, for assign() and reading from the beginning."""
    return kafka_clients.consumer(
        bootstrap,
        client_id=f"{client_id}-{uuid.uuid4().hex[:6]}",
        group_id=None,
        auth=auth,
        auto_offset_reset="earliest",
    )


async def partitions_of(
    bootstrap: str, topic: str, auth: KafkaAuth | None = None
) -> list[TopicPartition]:
    """The partitions of `topic`; TopicNotFound if it does not exist."""
    admin = kafka_clients.admin(bootstrap, auth=auth)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        p["partition"] for t in described if t["error_code"] == 0 for p in t["partitions"]
    ]
    if not partitions:
        raise TopicNotFound(
            f"topic {topic} does not exist: provision it from the catalogue (`vigie provision`)"
        )
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def read_partitions(
    bootstrap: str,
    topic: str,
    partitions: Iterable[int] | None = None,
    auth: KafkaAuth | None = None,
) -> dict[int, list[Any]]:
    """Every record (aiokafka ConsumerRecord) of the partitions, by partition, in offset order,
    up to the end offsets at the start of the call; read as `auth` (default: this process)."""
    consumer = reader(bootstrap, auth=auth)
    await consumer.start()
    try:
        tps = await partitions_of(bootstrap, topic, auth)
        if partitions is not None:
            wanted = set(partitions)
            tps = [tp for tp in tps if tp.partition in wanted]
        records: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        if not tps:
            return records
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, rs in batch.items():
                records[tp.partition] += [r for r in rs if r.offset < ends[tp]]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return records
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic``, partition after partition, each in offset order."""
    by_partition = await read_partitions(bootstrap, topic)
    return [r for p in sorted(by_partition) for r in by_partition[p]]


async def follow_topics(
    bootstrap: str,
    topics: Iterable[str],
    handle: Callable[[Any], None],
    stop: asyncio.Event,
    *,
    auth: KafkaAuth | None = None,
    caught_up: Callable[[], None] | None = None,
) -> None:
    """Every record of `topics` from their beginning, then as they come, until `stop`;
    `caught_up` is called once everything that was there at the start has been handled (a
    service answers from its state only from then on)."""
    consumer = reader(bootstrap, auth=auth)
    await consumer.start()
    try:
        tps = [tp for topic in topics for tp in await partitions_of(bootstrap, topic, auth)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        behind = {tp for tp in tps if ends[tp] > 0}
        if not behind and caught_up is not None:
            caught_up()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=300, max_records=500)
            for records in batch.values():
                for record in records:
                    handle(record)
            if behind:
                for tp in list(behind):
                    if await consumer.position(tp) >= ends[tp]:
                        behind.discard(tp)
                if not behind and caught_up is not None:
                    caught_up()
    finally:
        await consumer.stop()

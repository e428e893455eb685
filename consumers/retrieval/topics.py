"""Read a whole topic up to the end offsets taken when reading starts (no group, no commits):
for state rebuilt from a topic, such as the grants a retrieval decision needs."""

from __future__ import annotations

import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["read_topic"]


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record (aiokafka ConsumerRecord) of ``topic``, partition by partition, in
    offset order, up to the end offsets at the start of the call."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"vigie-retrieval-{uuid.uuid4().hex[:6]}",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, rs in batch.items():
                records[tp.partition] += [r for r in rs if r.offset < ends[tp]]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return [r for p in sorted(records) for r in records[p]]
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    # The consumer's cluster metadata only covers topics it already uses: ask the admin API.
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] or not described["partitions"]:
        raise LookupError(f"topic {topic} does not exist: provision it from the catalogue")
    return sorted(p["partition"] for p in described["partitions"])

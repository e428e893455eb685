"""The audit archiver as a service (`vigie audit archive --follow`): the chain anchored
continuously in the object-locked bucket.

A long-running loop: every `interval_s` it takes the `audit` records that arrived, writes each
partition's new records as one write-once segment followed by its anchor (``archive.write``),
and publishes any new public key of the sealer. Where it resumes comes from the bucket itself
(the last archived offset of each partition, read once at start), so it needs no consumer group
and no offsets of its own: a restart, or a MinIO outage (the partition is read again from the
last archived offset), rewrites nothing and skips nothing. One instance per bucket: two would
write overlapping segments under different keys.

Runs as its own principals: Kafka ``vigie-auditor`` (reads `audit`, nothing else) and the MinIO
user ``vigie-auditor`` (lists the bucket and puts objects with COMPLIANCE retention: it cannot
delete, overwrite a locked version or read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from minio import Minio

from consumers.audit import archive
from consumers.audit.commands import local_public_keys_pem, minio_call
from runtime.topic_reader import partitions_of, reader
from schemas.storage import AUDIT_BUCKET
from schemas.topics import AUDIT

__all__ = ["follow"]

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
"""How late an audit record is anchored at most (plus the time to write it)."""
RETRY_S = 5.0
MAX_BATCH = 50_000


async def _drain(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> dict[int, list[tuple[int, bytes]]]:
    """Whatever the consumer has for `tps` now, by partition (at most MAX_BATCH records)."""
    got: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    count = 0
    while count < MAX_BATCH:
        batch = await consumer.getmany(*tps, timeout_ms=200, max_records=MAX_BATCH - count)
        if not batch:
            break
        for tp, records in batch.items():
            got[tp.partition] += [(r.offset, r.value or b"") for r in records]
            count += len(records)
    return got


async def follow(
    bootstrap: str,
    client: Minio,
    state_dir: Path,
    stop: asyncio.Event,
    *,
    topic: str = AUDIT,
    bucket: str = AUDIT_BUCKET,
    interval_s: float = DEFAULT_INTERVAL_S,
) -> None:
    """Archive and anchor `topic` into `bucket` until `stop` is set."""
    published = await minio_call(
        "list the published keys", archive.published_key_ids, client, bucket
    )
    names = await minio_call("list the archive", archive.list_keys, client, bucket)
    upto = archive.archived_upto(names)
    tps = await partitions_of(bootstrap, topic)
    consumer = reader(bootstrap, client_id="vigie-auditor")
    await consumer.start()
    try:
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, upto.get(tp.partition, -1) + 1)
        logger.info(
            "audit archiver following %s from %s into %s",
            topic,
            {tp.partition: upto.get(tp.partition, -1) + 1 for tp in tps},
            bucket,
        )
        while not stop.is_set():
            try:
                await minio_call(
                    "publish keys",
                    archive.publish_keys,
                    client,
                    local_public_keys_pem(state_dir),
                    published,
                    bucket,
                )
                for partition, items in sorted((await _drain(consumer, tps)).items()):
                    for segment in archive.segments_to_write({partition: items}, upto):
                        await _store(client, segment, upto, bucket)
            except Exception:
                # The service keeps going: every partition is read again from what is archived.
                logger.exception("audit archiving failed; retrying in %.0f s", RETRY_S)
                for tp in tps:
                    consumer.seek(tp, upto.get(tp.partition, -1) + 1)
                await _wait(stop, RETRY_S)
                continue
            await _wait(stop, interval_s)
    finally:
        await consumer.stop()


async def _store(
    client: Minio,
    segment: archive.Segment,
    upto: dict[int, int],
    bucket: str,
) -> None:
    """Write one segment and its anchor, then count it archived."""
    await minio_call("write a segment", archive.write, client, segment, None, bucket)
    upto[segment.partition] = segment.records[-1][0]
    logger.info("%s/%s: %d records, anchored", bucket, segment.key, len(segment.records))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

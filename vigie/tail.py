"""`vigie tail <topic>`: print a topic's records decoded, one line each.

The writer schema of each record is found from its fingerprint (single-object encoding), so the
same command reads every topic. Frames are summarised: the image is never printed.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import datetime
from typing import Any

from runtime import connection, kafka_clients
from runtime.topic_reader import partitions_of
from schemas.codec import CODECS, PACKAGED_REGISTRY, DecodeError, peek_fingerprint
from schemas.records import Frame


def decode_any(data: bytes) -> Any:
    """Decode a record of any Vigie type; DecodeError if it is not one."""
    writer = PACKAGED_REGISTRY.writer(peek_fingerprint(data))
    if writer is None:
        raise DecodeError(f"unknown writer fingerprint {peek_fingerprint(data):016x}")
    return CODECS[writer.name].decode(data)


def _value(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat(timespec="milliseconds")
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    return str(v)


def describe(record: Any) -> str:
    """One line for a decoded record."""
    if isinstance(record, Frame):
        return (
            f"frame {record.camera_id} #{record.sequence} {record.width}x{record.height} "
            f"{record.encoding} {len(record.image)} B captured {_value(record.capture_time)}"
        )
    fields = (
        dataclasses.asdict(record)
        if dataclasses.is_dataclass(record) and not isinstance(record, type)
        else {}
    )
    body = " ".join(f"{k}={_value(v)}" for k, v in fields.items() if v not in (None, (), {}))
    return f"{type(record).__name__} {body}"


async def run(topic: str, from_beginning: bool, limit: int, timeout_s: float) -> int:
    bootstrap = connection.load().kafka_bootstrap
    await partitions_of(bootstrap, topic)  # TopicNotFound, said in one line, for a typo
    consumer = kafka_clients.consumer(
        bootstrap,
        topic,
        client_id="vigie-tail",
        group_id=f"vigie-tail-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    seen = 0
    last = time.monotonic()
    try:
        while limit == 0 or seen < limit:
            batch = await consumer.getmany(timeout_ms=500, max_records=100)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                if timeout_s and time.monotonic() - last > timeout_s:
                    break
                continue
            last = time.monotonic()
            for r in records:
                try:
                    line = describe(decode_any(r.value or b""))
                except DecodeError as exc:
                    line = f"undecodable record: {exc.reason}"
                print(f"{r.topic}[{r.partition}]@{r.offset} {line}", flush=True)
                seen += 1
                if limit and seen >= limit:
                    break
    finally:
        await consumer.stop()
    return 0 if seen or not limit else 1

"""The audit trail archived write-once: sealed `audit` records copied to the object-locked
`vigie-audit` bucket, where retention (COMPLIANCE mode) forbids deleting or overwriting them,
even for MinIO's root user, until it expires.

Segments are keyed by partition and Kafka offsets (`p<partition>/<first>-<last>.jsonl`), so a
rerun writes only what is not archived yet and never a different object under a used key. Each
line keeps the record's exact bytes (single-object Avro, base64): the archived chain can be
verified on its own and compared with the topic (a record altered or removed in Kafka after it
was archived shows as a mismatch).
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.retention import Retention

from schemas.storage import AUDIT_BUCKET

RETENTION = timedelta(days=365 * 10)
_KEY = re.compile(r"^p(\d+)/(\d{12})-(\d{12})\.jsonl$")


@dataclass(frozen=True, slots=True)
class Segment:
    partition: int
    records: tuple[tuple[int, bytes], ...]  # (offset, value)

    @property
    def key(self) -> str:
        return segment_key(self.partition, self.records[0][0], self.records[-1][0])


def segment_key(partition: int, first: int, last: int) -> str:
    return f"p{partition}/{first:012d}-{last:012d}.jsonl"


def archived_upto(keys: Iterable[str]) -> dict[int, int]:
    """The last archived offset of each partition, from the object keys (pure)."""
    upto: dict[int, int] = {}
    for key in keys:
        match = _KEY.match(key)
        if match:
            partition, last = int(match[1]), int(match[3])
            upto[partition] = max(upto.get(partition, -1), last)
    return upto


def segments_to_write(
    records: Mapping[int, Sequence[tuple[int, bytes]]], upto: Mapping[int, int]
) -> list[Segment]:
    """One segment per partition with the records after its archived offset (pure)."""
    segments = []
    for partition, items in sorted(records.items()):
        new = tuple((o, v) for o, v in items if o > upto.get(partition, -1))
        if new:
            segments.append(Segment(partition, new))
    return segments


def encode(segment: Segment) -> bytes:
    return b"".join(
        json.dumps({"offset": o, "value": base64.b64encode(v).decode()}).encode() + b"\n"
        for o, v in segment.records
    )


def decode(data: bytes) -> list[tuple[int, bytes]]:
    lines = [json.loads(line) for line in data.splitlines() if line.strip()]
    return [(int(item["offset"]), base64.b64decode(item["value"])) for item in lines]


def write(client: Minio, segment: Segment, now: datetime | None = None) -> str:
    """Store one segment write-once (blocking)."""
    data = encode(segment)
    until = (now or datetime.now(UTC)) + RETENTION
    client.put_object(
        AUDIT_BUCKET,
        segment.key,
        io.BytesIO(data),
        len(data),
        content_type="application/x-ndjson",
        retention=Retention(COMPLIANCE, until),
    )
    return segment.key


def read_all(client: Minio) -> dict[int, list[tuple[int, bytes]]]:
    """Every archived record by partition, in offset order (blocking)."""
    by_partition: dict[int, list[tuple[int, bytes]]] = {}
    keys = sorted(o.object_name for o in client.list_objects(AUDIT_BUCKET, recursive=True))
    for key in keys:
        match = _KEY.match(key or "")
        if not match:
            continue
        response = client.get_object(AUDIT_BUCKET, key)
        try:
            by_partition.setdefault(int(match[1]), []).extend(decode(response.read()))
        finally:
            response.close()
            response.release_conn()
    return {p: sorted(items) for p, items in by_partition.items()}

"""The audit trail archived write-once: sealed `audit` records copied to the object-locked
`vigie-audit` bucket, where retention (COMPLIANCE mode) forbids deleting or overwriting them,
even for MinIO's root user, until it expires.

Segments are keyed by partition and Kafka offsets (`p<partition>/<first>-<last>.jsonl`), so a
rerun writes only what is not archived yet and never a different object under a used key. Each
line keeps the record's exact bytes (single-object Avro, base64): the archived chain can be
verified on its own and compared with the topic (a record altered or removed in Kafka after it
was archived shows as a mismatch).

After each segment an *anchor* is written (``schemas.audit_trail``: the offset and record_hash
of the segment's last audit record), write-once too, so `vigie audit verify` can tell whether
the topic still holds the anchored record unchanged. The sealer's public keys are copied under
``keys/<key id>.pem`` so that an auditor can check signatures without the sealer's machine.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention

from schemas.audit_chain import key_id, load_public_key_pem
from schemas.audit_trail import (
    ANCHOR_PREFIX,
    Anchor,
    anchor_key,
    decode_anchor,
    encode_anchor,
    latest_anchor_keys,
    read_trail,
)
from schemas.storage import AUDIT_BUCKET

logger = logging.getLogger(__name__)

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


def anchor_of(segment: Segment, now: datetime) -> Anchor | None:
    """The anchor closing `segment`: its last audit record (junk skipped by the one rule);
    None when the segment holds only junk (pure)."""
    trail = read_trail(segment.records)
    if not trail.records:
        return None
    offset, record = trail.records[-1]
    return Anchor(segment.partition, offset, record.record_hash, segment.key, now)


def _put_locked(
    client: Minio, bucket: str, key: str, data: bytes, content_type: str, now: datetime
) -> None:
    client.put_object(
        bucket,
        key,
        io.BytesIO(data),
        len(data),
        content_type=content_type,
        retention=Retention(COMPLIANCE, now + RETENTION),
    )


def write(
    client: Minio, segment: Segment, now: datetime | None = None, bucket: str = AUDIT_BUCKET
) -> str:
    """Store one segment write-once, then its anchor (blocking)."""
    now = now or datetime.now(UTC)
    _put_locked(client, bucket, segment.key, encode(segment), "application/x-ndjson", now)
    anchor = anchor_of(segment, now)
    if anchor is not None:
        key = anchor_key(anchor.partition, anchor.offset)
        _put_locked(client, bucket, key, encode_anchor(anchor), "application/json", now)
    return segment.key


KEYS_PREFIX = "keys/"


def published_key_ids(client: Minio, bucket: str = AUDIT_BUCKET) -> set[str]:
    """Ids of the public keys already in the bucket (blocking)."""
    names = (o.object_name or "" for o in client.list_objects(bucket, prefix=KEYS_PREFIX))
    return {n.removeprefix(KEYS_PREFIX).removesuffix(".pem") for n in names if n.endswith(".pem")}


def publish_keys(
    client: Minio,
    keys: Mapping[str, bytes],
    already: set[str],
    bucket: str = AUDIT_BUCKET,
) -> list[str]:
    """Copy the public keys (id -> PEM) not in `already` into the bucket, write-once; returns
    the ids written and adds them to `already` (blocking)."""
    written = []
    for kid, pem in sorted(keys.items()):
        if kid in already:
            continue
        _put_locked(client, bucket, f"{KEYS_PREFIX}{kid}.pem", pem, "application/x-pem-file",
                    datetime.now(UTC))  # fmt: skip
        already.add(kid)
        written.append(kid)
        logger.info("audit public key %s published in %s", kid, bucket)
    return written


def _get(client: Minio, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _bucket_missing(exc: S3Error) -> bool:
    return exc.code == "NoSuchBucket"


def read_keys(client: Minio, bucket: str = AUDIT_BUCKET) -> dict[str, Ed25519PublicKey]:
    """The public keys published in the bucket, by id; an object whose name is not the id of
    its content is ignored (blocking)."""
    keys: dict[str, Ed25519PublicKey] = {}
    try:
        ids = published_key_ids(client, bucket)
    except S3Error as exc:
        if _bucket_missing(exc):
            return keys
        raise
    for kid in sorted(ids):
        try:
            key = load_public_key_pem(_get(client, bucket, f"{KEYS_PREFIX}{kid}.pem"))
        except ValueError as exc:
            logger.warning("%s/%s%s.pem is not a public key, ignored: %s", bucket, KEYS_PREFIX,
                           kid, exc)  # fmt: skip
            continue
        if key_id(key) == kid:
            keys[kid] = key
    return keys


def read_anchors(client: Minio, bucket: str = AUDIT_BUCKET) -> dict[int, Anchor]:
    """The latest anchor of each partition (blocking)."""
    try:
        names = [
            o.object_name or ""
            for o in client.list_objects(bucket, prefix=ANCHOR_PREFIX, recursive=True)
        ]
    except S3Error as exc:
        if _bucket_missing(exc):
            return {}
        raise
    return {
        partition: decode_anchor(_get(client, bucket, key))
        for partition, key in latest_anchor_keys(names).items()
    }


def list_keys(client: Minio, bucket: str = AUDIT_BUCKET) -> list[str]:
    return [o.object_name or "" for o in client.list_objects(bucket, recursive=True)]


def read_all(client: Minio, bucket: str = AUDIT_BUCKET) -> dict[int, list[tuple[int, bytes]]]:
    """Every archived record by partition, in offset order (blocking)."""
    by_partition: dict[int, list[tuple[int, bytes]]] = {}
    for key in sorted(list_keys(client, bucket)):
        match = _KEY.match(key)
        if not match:
            continue
        by_partition.setdefault(int(match[1]), []).extend(decode(_get(client, bucket, key)))
    # A record archived twice (two archivers raced, or a by-hand pass beside the service) is
    # the same bytes at the same offset: counted once. Different bytes at one offset stay both
    # and break the chain where they are.
    return {p: sorted(set(items)) for p, items in by_partition.items()}

"""`vigie audit verify [--archive]` and `vigie audit archive` (one pass): the audit trail, its
signatures, its anchors and its write-once copy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ParamSpec, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from minio import Minio
from minio.error import MinioException
from urllib3.exceptions import HTTPError

from consumers.audit import archive
from runtime.audit_keys import published_public_keys
from runtime.connection import Connection, StackConfigError, minio_client
from runtime.topic_reader import read_partitions
from schemas.audit_chain import public_key_pem
from schemas.audit_trail import Anchor, PartitionVerdict, check_partition
from schemas.errors import EXIT_CHECK_FAILED, EXIT_OK
from schemas.storage import AUDIT_BUCKET
from schemas.topics import AUDIT

Entries = dict[int, list[tuple[int, bytes]]]
P = ParamSpec("P")
R = TypeVar("R")


async def topic_entries(bootstrap: str, topic: str = AUDIT) -> Entries:
    by_partition = await read_partitions(bootstrap, topic)
    return {p: [(r.offset, r.value or b"") for r in rs] for p, rs in by_partition.items()}


async def minio_call(what: str, call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking MinIO call in a thread; an unreachable or refusing MinIO is a one-line
    error (exit 2), not a traceback."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except (MinioException, HTTPError) as exc:
        raise StackConfigError(f"MinIO: cannot {what}: {exc}") from exc


def local_public_keys_pem(state_dir: Path) -> dict[str, bytes]:
    return {kid: public_key_pem(key) for kid, key in published_public_keys(state_dir).items()}


async def archive_trail(
    conn: Connection,
    state_dir: Path,
    *,
    client: Minio | None = None,
    topic: str = AUDIT,
    bucket: str = AUDIT_BUCKET,
) -> int:
    """One pass: the sealer's public keys and the audit records not archived yet, each
    segment followed by its anchor; prints what was written."""
    client = client or minio_client(conn)
    keys = local_public_keys_pem(state_dir)
    known = await minio_call("list the published keys", archive.published_key_ids, client, bucket)
    for kid in await minio_call("publish keys", archive.publish_keys, client, keys, known, bucket):
        print(f"{bucket}/{archive.KEYS_PREFIX}{kid}.pem: public key published (write-once)")
    records = await topic_entries(conn.kafka_bootstrap, topic)
    names = await minio_call("list the archive", archive.list_keys, client, bucket)
    segments = archive.segments_to_write(records, archive.archived_upto(names))
    for segment in segments:
        await minio_call("write a segment", archive.write, client, segment, None, bucket)
        print(f"{bucket}/{segment.key}: {len(segment.records)} records (write-once), anchored")
    if not segments:
        print("audit archive up to date")
    return EXIT_OK


async def trusted_keys(
    client: Minio, state_dir: Path, bucket: str = AUDIT_BUCKET
) -> dict[str, Ed25519PublicKey]:
    """The sealer's public keys: those published in the bucket and in the state folder."""
    keys = await minio_call("read the published keys", archive.read_keys, client, bucket)
    return {**keys, **published_public_keys(state_dir)}


def describe(verdict: PartitionVerdict, topic: str) -> list[str]:
    """What `vigie audit verify` prints about one partition (pure)."""
    name = f"{topic}[{verdict.partition}]"
    lines = [
        f"{name}: junk at offset {j.offset} skipped (not an audit record: {j.reason})"
        for j in verdict.junk
    ]
    signed = f"{verdict.signed} signed"
    if verdict.key_ids:
        signed += f" by key {', '.join(sorted(verdict.key_ids))}"
    if verdict.unsigned:
        signed += f", {verdict.unsigned} unsigned (sealed before signing existed)"
    state = "chain intact" if verdict.ok else "BROKEN"
    lines.append(
        f"{name}: {verdict.records} records ({signed}), {state}, head {verdict.head.hex()},"
        f" {verdict.anchor}"
    )
    lines += [f"{name}: BROKEN: {problem}" for problem in verdict.problems]
    return lines


def judge(
    entries: Entries,
    keys: Mapping[str, Ed25519PublicKey],
    anchors: Mapping[int, Anchor],
    topic: str,
) -> tuple[int, list[str]]:
    """Exit code and lines for every partition (pure); an anchored partition missing from the
    topic is a cut too."""
    lines: list[str] = []
    ok = True
    for partition in sorted(set(entries) | set(anchors)):
        verdict = check_partition(
            partition, entries.get(partition, []), keys, anchors.get(partition)
        )
        ok = ok and verdict.ok
        lines += describe(verdict, topic)
    return (EXIT_OK if ok else EXIT_CHECK_FAILED), lines


async def verify_trail(
    conn: Connection,
    state_dir: Path,
    *,
    client: Minio | None = None,
    topic: str = AUDIT,
    bucket: str = AUDIT_BUCKET,
) -> int:
    """Every partition of the topic: hash chain, signatures, latest anchor. Exit 1 if any
    partition has a problem (each is named)."""
    client = client or minio_client(conn)
    entries = await topic_entries(conn.kafka_bootstrap, topic)
    keys = await trusted_keys(client, state_dir, bucket)
    anchors = await minio_call("read the anchors", archive.read_anchors, client, bucket)
    code, lines = judge(entries, keys, anchors, topic)
    for line in lines:
        print(line)
    return code


async def verify_archive(
    conn: Connection,
    state_dir: Path,
    *,
    client: Minio | None = None,
    topic: str = AUDIT,
    bucket: str = AUDIT_BUCKET,
) -> int:
    """The archived chains verify on their own (hashes, signatures), and the topic still holds
    exactly the archived records at their offsets. Exit 1 naming every problem."""
    client = client or minio_client(conn)
    archived = await minio_call("read the archive", archive.read_all, client, bucket)
    keys = await trusted_keys(client, state_dir, bucket)
    entries = await topic_entries(conn.kafka_bootstrap, topic)
    problems: list[str] = []
    for partition, items in sorted(archived.items()):
        verdict = check_partition(partition, items, keys)
        problems += [f"archive p{partition}: {p}" for p in verdict.problems]
        in_topic = dict(entries.get(partition, []))
        for offset, value in items:
            if offset not in in_topic:
                problems.append(f"{topic}[{partition}]@{offset}: archived but gone from Kafka")
                break
            if in_topic[offset] != value:
                problems.append(f"{topic}[{partition}]@{offset}: differs from the archived copy")
                break
        print(
            f"archive p{partition}: {len(items)} records ({verdict.signed} signed,"
            f" {verdict.unsigned} unsigned), head {verdict.head.hex()}"
        )
    for problem in problems:
        print(f"BROKEN {problem}")
    return EXIT_CHECK_FAILED if problems or not archived else EXIT_OK

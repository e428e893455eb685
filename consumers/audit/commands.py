"""`vigie audit archive` and `vigie audit verify --archive`: the write-once copy of the trail."""

from __future__ import annotations

import asyncio

from consumers.audit import archive
from runtime.connection import Connection, minio_client
from runtime.topic_reader import read_partitions
from schemas.audit_chain import verify_chain
from schemas.codec import AUDIT_RECORD, DecodeError
from schemas.storage import AUDIT_BUCKET
from schemas.topics import AUDIT


async def _topic(conn: Connection) -> dict[int, list[tuple[int, bytes]]]:
    by_partition = await read_partitions(conn.kafka_bootstrap, AUDIT)
    return {p: [(r.offset, r.value or b"") for r in rs] for p, rs in by_partition.items()}


async def archive_trail(conn: Connection) -> int:
    """Copy the audit records not archived yet; prints what was written."""
    client = minio_client(conn)
    records = await _topic(conn)
    keys = await asyncio.to_thread(
        lambda: [o.object_name or "" for o in client.list_objects(AUDIT_BUCKET, recursive=True)]
    )
    segments = archive.segments_to_write(records, archive.archived_upto(keys))
    for segment in segments:
        await asyncio.to_thread(archive.write, client, segment)
        print(f"{AUDIT_BUCKET}/{segment.key}: {len(segment.records)} records (write-once)")
    if not segments:
        print("audit archive up to date")
    return 0


async def verify_archive(conn: Connection) -> int:
    """The archived chains verify on their own, and the topic still holds exactly the
    archived records at their offsets. Exit 1 naming the first problem."""
    archived = await asyncio.to_thread(archive.read_all, minio_client(conn))
    topic = await _topic(conn)
    problems: list[str] = []
    for partition, items in sorted(archived.items()):
        try:
            records = [AUDIT_RECORD.decode(value) for _, value in items]
        except DecodeError as exc:
            problems.append(f"archive p{partition}: undecodable record ({exc.reason})")
            continue
        report = verify_chain(records)
        if not report.ok:
            problems.append(f"archive p{partition}: {report.reason}")
        in_topic = dict(topic.get(partition, []))
        for offset, value in items:
            if offset not in in_topic:
                problems.append(f"{AUDIT}[{partition}]@{offset}: archived but gone from Kafka")
                break
            if in_topic[offset] != value:
                problems.append(f"{AUDIT}[{partition}]@{offset}: differs from the archived copy")
                break
        print(f"archive p{partition}: {len(items)} records, head {report.head.hex()}")
    for problem in problems:
        print(f"BROKEN {problem}")
    return 1 if problems or not archived else 0

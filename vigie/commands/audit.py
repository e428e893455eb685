"""`vigie audit verify|report|archive`: the hash-chained audit trail and its archive."""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime

from schemas.audit_chain import verify_chain
from schemas.codec import AUDIT_RECORD, DecodeError
from schemas.records import AuditRecord
from schemas.topics import AUDIT
from streams.report import render_report
from vigie.commands.base import Subparsers, act_as_tooling, add, group

logger = logging.getLogger(__name__)


async def _audit_partitions() -> dict[int, list[tuple[int, AuditRecord | DecodeError]]]:
    from runtime import connection
    from runtime.topic_reader import read_partitions

    by_partition = await read_partitions(connection.load().kafka_bootstrap, AUDIT)
    out: dict[int, list[tuple[int, AuditRecord | DecodeError]]] = {}
    for partition, records in sorted(by_partition.items()):
        decoded: list[tuple[int, AuditRecord | DecodeError]] = []
        for r in records:
            try:
                decoded.append((r.offset, AUDIT_RECORD.decode(r.value or b"")))
            except DecodeError as exc:
                decoded.append((r.offset, exc))
        out[partition] = decoded
    return out


async def audit_verify() -> int:
    """Exit 0 when every partition's chain verifies; else 1 and the first break."""
    ok = True
    for partition, items in (await _audit_partitions()).items():
        records: list[AuditRecord] = []
        offsets: list[int] = []
        broken: str | None = None
        for offset, item in items:
            if isinstance(item, DecodeError):
                broken = f"offset {offset}: not an audit record ({item.reason})"
                break
            records.append(item)
            offsets.append(offset)
        report = verify_chain(records)
        if not report.ok and report.first_break_index is not None:
            index = report.first_break_index
            where = f"offset {offsets[index]}" if index < len(offsets) else "end"
            broken = f"{where}: {report.reason}"
        if broken is not None:
            ok = False
            print(f"{AUDIT}[{partition}]: BROKEN at {broken}")
            break
        print(
            f"{AUDIT}[{partition}]: {report.count} records, chain intact, head {report.head.hex()}"
        )
    return 0 if ok else 1


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; UTC when it has no offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def audit_report(start: datetime, end: datetime) -> int:
    records: list[AuditRecord] = []
    unreadable = 0
    for partition, items in (await _audit_partitions()).items():
        for offset, item in items:
            if isinstance(item, DecodeError):
                unreadable += 1
                logger.warning(
                    "%s[%d]@%d: not an audit record (%s)", AUDIT, partition, offset, item.reason
                )
            else:
                records.append(item)
    print(render_report(records, start, end))
    if unreadable:
        # The committee must know the report does not cover everything on the topic.
        print(f"WARNING: {unreadable} unreadable records on {AUDIT} are not in this report")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    act_as_tooling()
    if args.archive:
        from consumers.audit.commands import verify_archive
        from runtime import connection

        return asyncio.run(verify_archive(connection.load()))
    return asyncio.run(audit_verify())


def _audit_archive(_: argparse.Namespace) -> int:
    act_as_tooling()
    from consumers.audit.commands import archive_trail
    from runtime import connection

    return asyncio.run(archive_trail(connection.load()))


def _audit_report(args: argparse.Namespace) -> int:
    act_as_tooling()
    return asyncio.run(audit_report(parse_time(args.from_), parse_time(args.to)))


def register(sub: Subparsers) -> None:
    aud_sub = group(sub, "audit", "the hash-chained audit trail")
    verify = add(aud_sub, "verify", _audit_verify, "check every chain (exit 1 at the first break)")
    verify.add_argument(
        "--archive",
        action="store_true",
        help="check the write-once archive in MinIO instead, and the topic against it",
    )
    add(
        aud_sub,
        "archive",
        _audit_archive,
        "copy new audit records to the object-locked bucket (write-once)",
    )
    report = add(
        aud_sub, "report", _audit_report, "who saw which cameras of whom, when, on what basis"
    )
    report.add_argument("--from", dest="from_", required=True, help="ISO time (UTC if no offset)")
    report.add_argument("--to", required=True, help="ISO time, exclusive")

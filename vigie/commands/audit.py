"""`vigie audit verify|report|archive`: the hash-chained audit trail and its archive."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
from datetime import UTC, datetime

from schemas.audit_report import render_report
from schemas.audit_trail import Trail, read_trail
from schemas.records import AuditRecord
from schemas.topics import AUDIT
from vigie.commands.base import Subparsers, act_as_tooling, add, group

logger = logging.getLogger(__name__)


async def _audit_trails() -> dict[int, Trail]:
    from runtime import connection
    from runtime.topic_reader import read_partitions

    by_partition = await read_partitions(connection.load().kafka_bootstrap, AUDIT)
    return {
        partition: read_trail((r.offset, r.value) for r in records)
        for partition, records in sorted(by_partition.items())
    }


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; UTC when it has no offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def audit_report(start: datetime, end: datetime) -> int:
    records: list[AuditRecord] = []
    unreadable = 0
    for partition, trail in (await _audit_trails()).items():
        records += [record for _, record in trail.records]
        unreadable += len(trail.junk)
        for junk in trail.junk:
            logger.warning(
                "%s[%d]@%d: not an audit record (%s)", AUDIT, partition, junk.offset, junk.reason
            )
    print(render_report(records, start, end))
    if unreadable:
        # The committee must know the report does not cover everything on the topic.
        print(f"WARNING: {unreadable} unreadable records on {AUDIT} are not in this report")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    act_as_tooling()
    from consumers.audit.commands import verify_archive, verify_trail
    from runtime import connection

    check = verify_archive if args.archive else verify_trail
    return asyncio.run(check(connection.load(), connection.state_dir()))


def _audit_archive(args: argparse.Namespace) -> int:
    from runtime import connection

    if not args.follow:
        act_as_tooling()
        from consumers.audit.commands import archive_trail

        return asyncio.run(archive_trail(connection.load(), connection.state_dir()))
    return _follow(args.interval)


def _follow(interval_s: float) -> int:
    """The audit archiver service, as its own principals, until SIGTERM or Ctrl-C."""
    from consumers.audit.follow import follow
    from runtime import connection
    from runtime.credentials import load_minio_user
    from runtime.identity import act_as
    from schemas.errors import VigieError
    from schemas.security import AUDITOR

    act_as(AUDITOR)
    conn = connection.load()
    user = load_minio_user(connection.state_dir(), AUDITOR)
    if user is None:
        raise VigieError(f"no MinIO user for {AUDITOR}: run `vigie provision` first")
    conn = dataclasses.replace(
        conn, minio_access_key=user.access_key, minio_secret_key=user.secret_key
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await follow(
            conn.kafka_bootstrap,
            connection.minio_client(conn),
            connection.state_dir(),
            stop,
            interval_s=interval_s,
        )

    asyncio.run(main())
    return 0


def _audit_report(args: argparse.Namespace) -> int:
    act_as_tooling()
    return asyncio.run(audit_report(parse_time(args.from_), parse_time(args.to)))


def register(sub: Subparsers) -> None:
    aud_sub = group(sub, "audit", "the hash-chained audit trail")
    verify = add(
        aud_sub,
        "verify",
        _audit_verify,
        "check every chain: hashes, signatures, and the topic against the latest anchor"
        " (exit 1 naming each problem)",
    )
    verify.add_argument(
        "--archive",
        action="store_true",
        help="check the write-once archive in MinIO instead, and the topic against it",
    )
    archive = add(
        aud_sub,
        "archive",
        _audit_archive,
        "copy new audit records to the object-locked bucket (write-once), each segment anchored",
    )
    archive.add_argument(
        "--follow",
        action="store_true",
        help="keep going: the audit archiver service (as vigie-auditor), until Ctrl-C",
    )
    archive.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="with --follow: seconds between rounds, the most an anchor lags (default 5)",
    )
    report = add(
        aud_sub, "report", _audit_report, "who saw which cameras of whom, when, on what basis"
    )
    report.add_argument("--from", dest="from_", required=True, help="ISO time (UTC if no offset)")
    report.add_argument("--to", required=True, help="ISO time, exclusive")

"""Handlers of `vigie incident ...`, `vigie policy worker` and `vigie audit ...`.

Incident commands are produced to `incident-commands` and applied by the policy workers; what
became of them is read back from `incidents` (`vigie incident list`) and `audit`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from schemas.codec import AUDIT_RECORD, INCIDENT_COMMAND, INCIDENT_EVENT, DecodeError
from schemas.config import IncidentKind, load
from schemas.records import AuditRecord, IncidentCommand, IncidentEvent, IncidentEventKind
from schemas.topics import AUDIT, INCIDENT_COMMANDS, INCIDENTS
from streams.audit_chain import verify_chain
from streams.commands import close_record, open_record, update_record
from streams.incidents import DEFAULT_GRACE_S
from streams.report import render_report
from vigie import connection
from vigie.topic_reader import read_partitions

logger = logging.getLogger(__name__)

GRACE_ENV = "VIGIE_POLICY_GRACE_S"
"""Default of `vigie policy worker --grace` (tests shorten it)."""


def new_incident_id(at: datetime) -> str:
    return f"inc-{at:%Y%m%d}-{uuid.uuid4().hex[:6]}"


async def _send_command(record: IncidentCommand) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=connection.load().kafka_bootstrap, enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            INCIDENT_COMMANDS,
            key=record.incident_id.encode(),
            value=INCIDENT_COMMAND.encode(record),
        )
    finally:
        await producer.stop()


async def incident_open(
    *,
    operator: str,
    kind: str,
    lat: float,
    lon: float,
    radius: float,
    legal_basis: str | None,
    user: str,
    incident_id: str | None,
) -> int:
    at = datetime.now(UTC)
    record = open_record(
        incident_id=incident_id or new_incident_id(at),
        operator=operator,
        kind=IncidentKind(kind),
        latitude=lat,
        longitude=lon,
        radius_m=radius,
        legal_basis=legal_basis,
        requested_by=user,
        at=at,
    )
    await _send_command(record)
    print(record.incident_id)
    return 0


async def incident_update(
    *,
    incident_id: str,
    lat: float | None,
    lon: float | None,
    radius: float | None,
    user: str,
    operator: str,
) -> int:
    if (lat is None) != (lon is None):
        print("vigie: give both --lat and --lon, or neither")
        return 2
    record = update_record(
        incident_id=incident_id,
        operator=operator,
        latitude=lat,
        longitude=lon,
        radius_m=radius,
        requested_by=user,
        at=datetime.now(UTC),
    )
    await _send_command(record)
    print(incident_id)
    return 0


async def incident_close(*, incident_id: str, user: str, operator: str) -> int:
    record = close_record(
        incident_id=incident_id, operator=operator, requested_by=user, at=datetime.now(UTC)
    )
    await _send_command(record)
    print(incident_id)
    return 0


@dataclass
class IncidentSummary:
    incident_id: str
    operator: str
    status: str = "refused"
    kind: str = "?"
    position: str = "?"
    cameras: set[str] = field(default_factory=set)
    last: datetime | None = None
    reason: str | None = None


def summarise(events: Sequence[IncidentEvent]) -> dict[str, IncidentSummary]:
    """Current state of each incident from its events, in topic order."""
    incidents: dict[str, IncidentSummary] = {}
    for e in events:
        s = incidents.setdefault(e.incident_id, IncidentSummary(e.incident_id, e.operator))
        s.last = e.time
        if e.incident_kind is not None:
            s.kind = e.incident_kind.value
        if e.latitude is not None and e.longitude is not None:
            s.position = f"{e.latitude:.5f},{e.longitude:.5f} r={e.radius_m or 0:g} m"
        if e.kind is IncidentEventKind.OPENED:
            s.status, s.operator = "open", e.operator
        elif e.kind is IncidentEventKind.CLOSED:
            s.status = "closed"
        elif e.kind is IncidentEventKind.REFUSED:
            s.reason = e.reason
        elif e.kind is IncidentEventKind.CAMERA_GRANTED and e.camera_id:
            s.cameras.add(e.camera_id)
        elif e.kind is IncidentEventKind.CAMERA_REVOKED and e.camera_id:
            s.cameras.discard(e.camera_id)
    return incidents


async def incident_list() -> int:
    by_partition = await read_partitions(connection.load().kafka_bootstrap, INCIDENTS)
    events = []
    for records in by_partition.values():
        for r in records:
            try:
                events.append(INCIDENT_EVENT.decode(r.value or b""))
            except DecodeError as exc:
                logger.warning("incidents offset %d: %s", r.offset, exc.reason)
    events.sort(key=lambda e: e.time)
    for s in summarise(events).values():
        cameras = ",".join(sorted(s.cameras)) or "-"
        line = f"{s.incident_id} {s.status} {s.operator} {s.kind} {s.position} cameras={cameras}"
        if s.reason:
            line += f" last refusal: {s.reason}"
        print(line)
    return 0


async def _audit_partitions() -> dict[int, list[tuple[int, AuditRecord | DecodeError]]]:
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


def policy_worker(config_path: Path, *, app_id: str, grace_s: float | None) -> int:
    """Run one policy worker until SIGTERM or Ctrl-C."""
    from streams.worker import PolicySettings, WorkerSetupError, run_worker

    grace = grace_s if grace_s is not None else float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S))
    settings = PolicySettings(
        config=load(config_path),
        bootstrap=connection.load().kafka_bootstrap,
        app_id=app_id,
        grace_s=grace,
    )
    logger.info(
        "policy worker %s on %s: grace %.1f s, %d agreements",
        app_id,
        settings.bootstrap,
        grace,
        len(settings.config.agreements),
    )
    try:
        return run_worker(settings)
    except WorkerSetupError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------ argument wiring


def _incident_hold(args: argparse.Namespace) -> int:
    from consumers.archive import cli as archive_cli

    return archive_cli.incident_hold(args)


def _incident_open(args: argparse.Namespace) -> int:
    return asyncio.run(
        incident_open(
            operator=args.operator,
            kind=args.kind,
            lat=args.lat,
            lon=args.lon,
            radius=args.radius,
            legal_basis=args.legal_basis,
            user=args.user,
            incident_id=args.id,
        )
    )


def _incident_update(args: argparse.Namespace) -> int:
    return asyncio.run(
        incident_update(
            incident_id=args.incident_id,
            lat=args.lat,
            lon=args.lon,
            radius=args.radius,
            user=args.user,
            operator=args.operator,
        )
    )


def _incident_close(args: argparse.Namespace) -> int:
    return asyncio.run(
        incident_close(incident_id=args.incident_id, user=args.user, operator=args.operator)
    )


def _incident_list(_: argparse.Namespace) -> int:
    return asyncio.run(incident_list())


def _policy_worker(args: argparse.Namespace) -> int:
    return policy_worker(args.config, app_id=args.app_id, grace_s=args.grace)


def _audit_verify(args: argparse.Namespace) -> int:
    if args.archive:
        from consumers.audit.commands import verify_archive

        return asyncio.run(verify_archive(connection.load()))
    return asyncio.run(audit_verify())


def _audit_archive(_: argparse.Namespace) -> int:
    from consumers.audit.commands import archive_trail

    return asyncio.run(archive_trail(connection.load()))


def _audit_report(args: argparse.Namespace) -> int:
    return asyncio.run(audit_report(parse_time(args.from_), parse_time(args.to)))


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_arg: Callable[[argparse.ArgumentParser], None],
) -> None:
    """`vigie incident ...`, `vigie policy worker`, `vigie audit ...` (streams/cli.py)."""
    incident = sub.add_parser("incident", help="open, move, close and list incidents")
    inc_sub = incident.add_subparsers(dest="incident_command", required=True)
    kinds = [k.value for k in IncidentKind]

    op = inc_sub.add_parser("open", help="open an incident (prints its id)")
    op.set_defaults(handler=_incident_open)
    op.add_argument("--operator", required=True, help="operator opening the incident")
    op.add_argument("--kind", required=True, choices=kinds)
    op.add_argument("--lat", type=float, required=True)
    op.add_argument("--lon", type=float, required=True)
    op.add_argument("--radius", type=float, required=True, help="metres")
    op.add_argument("--legal-basis", help="the legal basis invoked (required to be granted)")
    op.add_argument("--user", required=True, help="who asks")
    op.add_argument("--id", help="incident id (default: generated)")

    up = inc_sub.add_parser("update", help="move and/or resize an open incident")
    up.set_defaults(handler=_incident_update)
    up.add_argument("incident_id")
    up.add_argument("--lat", type=float)
    up.add_argument("--lon", type=float)
    up.add_argument("--radius", type=float, help="metres")
    up.add_argument("--user", required=True, help="who asks")
    up.add_argument(
        "--operator", required=True, help="operator giving the command (the incident's own)"
    )

    cl = inc_sub.add_parser("close", help="close an incident: every grant is revoked")
    cl.set_defaults(handler=_incident_close)
    cl.add_argument("incident_id")
    cl.add_argument("--user", required=True, help="who asks")
    cl.add_argument(
        "--operator", required=True, help="operator giving the command (the incident's own)"
    )

    for name, help_ in (
        ("hold", "legal hold on every archived chunk the incident's grants reached (audited)"),
        ("release", "lift the incident's legal hold (audited)"),
    ):
        hold = inc_sub.add_parser(name, help=help_, description=help_)
        hold.set_defaults(handler=_incident_hold)
        hold.add_argument("incident_id")
        hold.add_argument("--user", required=True, help="who asks")
        hold.add_argument("--reason", required=True, help="why, for the audit record")
    ls = inc_sub.add_parser("list", help="incidents and their granted cameras, from `incidents`")
    ls.set_defaults(handler=_incident_list)

    policy = sub.add_parser("policy", help="the access-policy stream processors")
    pol_sub = policy.add_subparsers(dest="policy_command", required=True)
    worker = pol_sub.add_parser(
        "worker", help="run one policy worker: incidents, grants, routing, audit"
    )
    worker.set_defaults(handler=_policy_worker)
    config_arg(worker)
    worker.add_argument(
        "--app-id", default="vigie-policy", help="consumer group of the incidents (and prefix)"
    )
    worker.add_argument(
        "--grace",
        type=float,
        help="seconds a camera left behind stays granted (default: $VIGIE_POLICY_GRACE_S or 30)",
    )

    audit = sub.add_parser("audit", help="the hash-chained audit trail")
    aud_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = aud_sub.add_parser("verify", help="check every chain (exit 1 at the first break)")
    verify.set_defaults(handler=_audit_verify)
    verify.add_argument(
        "--archive",
        action="store_true",
        help="check the write-once archive in MinIO instead, and the topic against it",
    )
    arch = aud_sub.add_parser(
        "archive", help="copy new audit records to the object-locked bucket (write-once)"
    )
    arch.set_defaults(handler=_audit_archive)
    report = aud_sub.add_parser("report", help="who saw which cameras of whom, when, on what basis")
    report.set_defaults(handler=_audit_report)
    report.add_argument("--from", dest="from_", required=True, help="ISO time (UTC if no offset)")
    report.add_argument("--to", required=True, help="ISO time, exclusive")

"""`vigie incident open|update|close|list|hold|release`.

Commands are produced to `incident-commands` and applied by the policy workers; what became of
them is read back from `incidents` (`vigie incident list`) and `audit`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.config import IncidentKind
from schemas.incident_commands import close_record, open_record, update_record
from schemas.records import IncidentCommand, IncidentEvent, IncidentEventKind
from vigie.commands.base import Subparsers, act_as_operator, act_as_tooling, add, group

logger = logging.getLogger(__name__)


def new_incident_id(at: datetime) -> str:
    return f"inc-{at:%Y%m%d}-{uuid.uuid4().hex[:6]}"


async def _send_command(record: IncidentCommand) -> None:
    from runtime import connection, kafka_clients
    from schemas.codec import INCIDENT_COMMAND
    from schemas.topics import INCIDENT_COMMANDS

    producer = kafka_clients.producer(connection.load().kafka_bootstrap, client_id="vigie-cli")
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
    from runtime import connection
    from runtime.topic_reader import read_partitions
    from schemas.codec import INCIDENT_EVENT, DecodeError
    from schemas.topics import INCIDENTS

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


def _incident_hold(args: argparse.Namespace) -> int:
    """`vigie incident hold|release <incident>`: every chunk the incident's grants reached."""
    from consumers.archive.evidence import hold_incident
    from runtime import connection

    act_as_tooling()
    results = asyncio.run(
        hold_incident(
            connection.load(),
            incident_id=args.incident_id,
            actor=args.user,
            reason=args.reason,
            release=args.incident_command == "release",
        )
    )
    if not results:
        print(f"incident {args.incident_id}: no camera was granted, nothing to hold")
        return 1
    verb = "released from legal hold" if args.incident_command == "release" else "held"
    for r in results:
        print(
            f"{r.bucket} {','.join(r.cameras)} {r.start.isoformat()} → {r.end.isoformat()}: "
            f"{len(r.objects)} objects {verb}"
        )
    print(f"{sum(len(r.objects) for r in results)} objects {verb} (audited)")
    return 0


def _incident_open(args: argparse.Namespace) -> int:
    act_as_operator(args.operator)
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
    act_as_operator(args.operator)
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
    act_as_operator(args.operator)
    return asyncio.run(
        incident_close(incident_id=args.incident_id, user=args.user, operator=args.operator)
    )


def _incident_list(_: argparse.Namespace) -> int:
    act_as_tooling()
    return asyncio.run(incident_list())


def register(sub: Subparsers) -> None:
    inc_sub = group(sub, "incident", "open, move, close and list incidents")
    kinds = [k.value for k in IncidentKind]

    op = add(inc_sub, "open", _incident_open, "open an incident (prints its id)")
    op.add_argument("--operator", required=True, help="operator opening the incident")
    op.add_argument("--kind", required=True, choices=kinds)
    op.add_argument("--lat", type=float, required=True)
    op.add_argument("--lon", type=float, required=True)
    op.add_argument("--radius", type=float, required=True, help="metres")
    op.add_argument("--legal-basis", help="the legal basis invoked (required to be granted)")
    op.add_argument("--user", required=True, help="who asks")
    op.add_argument("--id", help="incident id (default: generated)")

    up = add(inc_sub, "update", _incident_update, "move and/or resize an open incident")
    up.add_argument("incident_id")
    up.add_argument("--lat", type=float)
    up.add_argument("--lon", type=float)
    up.add_argument("--radius", type=float, help="metres")
    up.add_argument("--user", required=True, help="who asks")
    up.add_argument(
        "--operator", required=True, help="operator giving the command (the incident's own)"
    )

    cl = add(inc_sub, "close", _incident_close, "close an incident: every grant is revoked")
    cl.add_argument("incident_id")
    cl.add_argument("--user", required=True, help="who asks")
    cl.add_argument(
        "--operator", required=True, help="operator giving the command (the incident's own)"
    )

    for name, help_ in (
        ("hold", "legal hold on every archived chunk the incident's grants reached (audited)"),
        ("release", "lift the incident's legal hold (audited)"),
    ):
        hold = add(inc_sub, name, _incident_hold, help_)
        hold.add_argument("incident_id")
        hold.add_argument("--user", required=True, help="who asks")
        hold.add_argument("--reason", required=True, help="why, for the audit record")
    add(inc_sub, "list", _incident_list, "incidents and their granted cameras, from `incidents`")

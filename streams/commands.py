"""Incident commands on the wire (``be.vigie.IncidentCommand``) to and from the pure commands of
``streams.incidents``, pure.

A command's decision time (``at``) is the time the broker appended it to `incident-commands`
(LogAppendTime), and its ``seq`` its offset there: both stable across redeliveries, neither in
the client's hands. The client's ``requested_at`` becomes ``claimed_at``, audited as a claim.
A record that cannot be turned into a command at all (an OPEN without a kind or position, a
latitude out of range) is a :class:`BadCommand`: the worker keeps it on the dead-letter topic
with the reason. Everything a command *may* lack and still be judged (a blank legal basis, an
unknown operator, a radius out of bounds) goes through and is refused by
``streams.incidents.validate``, with a REFUSED event and an audit record.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from schemas.config import IncidentKind, Position
from schemas.errors import VigieError
from schemas.records import IncidentAction, IncidentCommand
from schemas.records import IncidentKind as RecordIncidentKind
from streams.incidents import CloseIncident, Command, OpenIncident, UpdateIncident

__all__ = ["BadCommand", "to_command"]


class BadCommand(VigieError, ValueError):
    """An incident command record that does not say what to do."""


def _config_kind(kind: RecordIncidentKind) -> IncidentKind:
    return IncidentKind[kind.name]


def _position(record: IncidentCommand) -> Position | None:
    if record.latitude is None and record.longitude is None:
        return None
    if record.latitude is None or record.longitude is None:
        raise BadCommand("a position needs both latitude and longitude")
    try:
        return Position(lat=record.latitude, lon=record.longitude)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise BadCommand(f"bad position: {problems}") from exc


def to_command(record: IncidentCommand, *, at: datetime, seq: int | None) -> Command:
    """The pure command a record asks for, decided at the server time `at` (the broker's
    append time) as the `seq`-th record of its partition; BadCommand when it cannot be one."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadCommand("the command's server time is not UTC-aware")
    claimed = record.requested_at
    position = _position(record)
    if record.action is IncidentAction.OPEN:
        if record.incident_kind is None:
            raise BadCommand("OPEN without an incident kind")
        if position is None:
            raise BadCommand("OPEN without a position")
        if record.radius_m is None:
            raise BadCommand("OPEN without a radius")
        return OpenIncident(
            incident_id=record.incident_id,
            operator=record.operator,
            kind=_config_kind(record.incident_kind),
            position=position,
            radius_m=record.radius_m,
            legal_basis=record.legal_basis,
            requested_by=record.requested_by,
            at=at,
            seq=seq,
            claimed_at=claimed,
        )
    if record.action is IncidentAction.UPDATE:
        return UpdateIncident(
            incident_id=record.incident_id,
            operator=record.operator,
            position=position,
            radius_m=record.radius_m,
            requested_by=record.requested_by,
            at=at,
            seq=seq,
            claimed_at=claimed,
        )
    return CloseIncident(
        incident_id=record.incident_id,
        operator=record.operator,
        requested_by=record.requested_by,
        at=at,
        seq=seq,
        claimed_at=claimed,
    )

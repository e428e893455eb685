"""Incident commands as clients write them (``be.vigie.IncidentCommand``), pure builders.

The client's time goes in ``requested_at``: the policy audits it as a claim and decides at the
broker's append time (``streams.commands``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas.config import IncidentKind
from schemas.records import IncidentAction, IncidentCommand
from schemas.records import IncidentKind as RecordIncidentKind

__all__ = ["close_record", "open_record", "update_record"]


def _command_id() -> str:
    return str(uuid.uuid4())


def open_record(
    *,
    incident_id: str,
    operator: str,
    kind: IncidentKind,
    latitude: float,
    longitude: float,
    radius_m: float,
    legal_basis: str | None,
    requested_by: str,
    at: datetime,
) -> IncidentCommand:
    return IncidentCommand(
        command_id=_command_id(),
        incident_id=incident_id,
        action=IncidentAction.OPEN,
        operator=operator,
        incident_kind=RecordIncidentKind[kind.name],
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        legal_basis=legal_basis,
        requested_by=requested_by,
        requested_at=at,
    )


def update_record(
    *,
    incident_id: str,
    operator: str,
    latitude: float | None,
    longitude: float | None,
    radius_m: float | None,
    requested_by: str,
    at: datetime,
) -> IncidentCommand:
    return IncidentCommand(
        command_id=_command_id(),
        incident_id=incident_id,
        action=IncidentAction.UPDATE,
        operator=operator,
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
        requested_by=requested_by,
        requested_at=at,
    )


def close_record(
    *, incident_id: str, operator: str, requested_by: str, at: datetime
) -> IncidentCommand:
    return IncidentCommand(
        command_id=_command_id(),
        incident_id=incident_id,
        action=IncidentAction.CLOSE,
        operator=operator,
        requested_by=requested_by,
        requested_at=at,
    )

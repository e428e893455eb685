"""The commands an operator gives about an incident (open, update, close), and a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.config import IncidentKind, Position


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: command times must be UTC-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident:
    """Open an incident: its operator asks for the cameras of others around `position`."""

    incident_id: str
    operator: str
    kind: IncidentKind
    position: Position
    radius_m: float
    legal_basis: str | None
    requested_by: str
    at: datetime
    seq: int | None = None
    """The command's offset in its partition; None outside a command log (no replay check)."""
    claimed_at: datetime | None = None
    """When the client says it asked: audited as a claim, never used to decide."""

    def __post_init__(self) -> None:
        _require_aware(self.at)


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateIncident:
    """Move an incident (a suspect is followed) and/or change its radius; None = unchanged."""

    incident_id: str
    operator: str
    """The operator giving the command: only the incident's own operator may move it."""
    position: Position | None = None
    radius_m: float | None = None
    requested_by: str
    at: datetime
    seq: int | None = None
    """The command's offset in its partition; None outside a command log (no replay check)."""
    claimed_at: datetime | None = None
    """When the client says it asked: audited as a claim, never used to decide."""

    def __post_init__(self) -> None:
        _require_aware(self.at)


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseIncident:
    """Close an incident: every grant it justified is revoked at once."""

    incident_id: str
    operator: str
    """The operator giving the command: only the incident's own operator may close it."""
    requested_by: str
    at: datetime
    seq: int | None = None
    """The command's offset in its partition; None outside a command log (no replay check)."""
    claimed_at: datetime | None = None
    """When the client says it asked: audited as a claim, never used to decide."""

    def __post_init__(self) -> None:
        _require_aware(self.at)


Command = OpenIncident | UpdateIncident | CloseIncident


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command was refused, in words the requester and an ethics committee can read."""

    reason: str

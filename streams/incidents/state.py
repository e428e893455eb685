"""What the policy keeps and decides: an incident's state, its tracked grants, the grants it
justifies, what reconciliation changed and what a command or a tick decided."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from schemas.config import IncidentKind, Position
from schemas.records import AuditRecord, Grant, IncidentEvent
from streams.incidents.commands import Refusal


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedGrant:
    """An active grant of an incident, and since when its camera has not been desired."""

    grant: Grant
    left_behind_since: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """The state of one incident, as kept in the policy worker's table (key = incident id)."""

    incident_id: str
    operator: str
    kind: IncidentKind
    position: Position
    radius_m: float
    legal_basis: str
    requested_by: str
    """Who opened the incident."""
    opened_at: datetime
    status: IncidentStatus = IncidentStatus.OPEN
    closed_at: datetime | None = None
    previous_position: Position | None = None
    """Last position that differs from `position` by at least geometry.MIN_MOVE_M."""
    grants: Mapping[str, TrackedGrant] = dataclasses.field(default_factory=dict)
    """Active grants by camera id; revoked grants are dropped."""
    last_seq: int = -1
    """Offset of the last command applied to this incident: anything at or before it is a
    redelivery."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredGrant:
    """What an incident justifies on one camera right now."""

    camera_id: str
    owner: str
    grantee: str
    incident_id: str
    legal_basis: str
    live: bool
    archive: bool
    valid_until: datetime
    agreement_ids: tuple[str, ...]
    agreement_legal_bases: tuple[str, ...]
    ahead: bool
    """True when granted because it lies ahead in the direction of travel, not in the radius."""

    @property
    def agreement_id(self) -> str:
        return ",".join(self.agreement_ids)

    @property
    def basis(self) -> str:
        if self.ahead:
            return "next camera ahead in the direction of travel"
        return "camera within the incident radius"


@dataclass(frozen=True, slots=True)
class GrantChanges:
    """What reconciliation decided: grant records to publish and the grants still tracked."""

    grant: list[Grant]
    """New or changed ACTIVE grants."""
    revoke: list[Grant]
    """REVOKED grants, with revoked_at and reason."""
    tracked: dict[str, TrackedGrant]
    """The incident's active grants afterwards, by camera id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Everything a command or a tick decided: new state and the records to send."""

    incident: Incident | None
    """New state (None: there still is no such incident)."""
    grants: tuple[Grant, ...] = ()
    """For the compacted grants topic, key = grant_id."""
    events: tuple[IncidentEvent, ...] = ()
    """For the incidents topic, key = incident_id."""
    audit: tuple[AuditRecord, ...] = ()
    """Drafts for the audit topic: previous_hash and record_hash are b"" until sealed."""
    refusal: Refusal | None = None
    replay: bool = False
    """The command was already applied (redelivery): nothing to send."""

"""Incidents and the grants they justify, pure: no Kafka, no Faust, no clock, no I/O.

An incident command (open, update, close) and the incident's current state go in; the new state
and every record to publish come out (:func:`handle`): grants for the compacted ``grants`` topic,
incident events for dashboards, audit record drafts (sealed into the hash chain by
``streams.audit_chain.seal``). Time passing (grace periods, agreement expiry) is the same
computation driven by a timer instead of a command (:func:`tick`). A Faust agent only calls these
and sends what they return.

Decisions, where the design leaves room:

- **Time.** A command's decisions are stamped with the command's ``at``, never with the worker's
  clock, so that processing the same command twice yields the same records. ``at`` is the time
  the *broker* wrote the command (the command topic uses LogAppendTime): stable across
  redeliveries and out of the client's hands. The time the client claims (``claimed_at``) is
  kept in the audit as a claim and decides nothing.
- **At-least-once.** Commands of one incident share its key, hence its partition and order;
  ``seq`` is the command's offset in that partition. A command whose ``seq`` is not past the
  last one applied is a redelivery: it changes nothing and emits nothing (``Decision.replay``).
  (A client's clock cannot freeze an incident: a command dated in the future decides nothing
  about which later commands are redeliveries.) Grant ids are ``<incident>:<camera>``, so a
  re-sent grant overwrites itself in the compacted topic; audit ids are derived from the
  incident, decision time, action and camera, so duplicated audit drafts are recognisable.
- **Several agreements for one camera** (same owner and grantee, different scopes): their rights
  merge — live if any grants live, archive if any grants archive, the latest expiry — and the
  grant names every agreement, comma-separated, in ``agreement_id``.
- **Expiry** is ``opened_at + max_duration_minutes`` of the agreement: an agreement covers an
  incident for that long, and a camera met late in a pursuit expires with the others. An expired
  camera is not granted again by a later update.
- **Legal basis.** A grant carries the incident's legal basis (the requester's justification);
  the agreement's own legal basis is in the audit details.
- **Direction of travel** is from the last position that differed by at least
  ``geometry.MIN_MOVE_M`` (a radius-only update keeps the predicted cameras).
- Only cameras of *other* operators are granted: an operator always sees its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from schemas.config import Camera, IncidentKind, Position, SharingAgreement, VigieConfig
from schemas.headers import to_epoch_us
from schemas.records import (
    AuditAction,
    AuditRecord,
    Grant,
    GrantStatus,
    IncidentEvent,
    IncidentEventKind,
)
from schemas.records import IncidentKind as RecordIncidentKind
from streams import geometry

__all__ = [
    "DEFAULT_GRACE_S",
    "MAX_RADIUS_M",
    "MIN_RADIUS_M",
    "POLICY_ACTOR",
    "CloseIncident",
    "Command",
    "Decision",
    "DesiredGrant",
    "GrantChanges",
    "Incident",
    "IncidentStatus",
    "OpenIncident",
    "Refusal",
    "TrackedGrant",
    "UpdateIncident",
    "allowed_kinds",
    "desired_grants",
    "grant_id",
    "handle",
    "matching_agreements",
    "next_deadline",
    "reconcile",
    "tick",
    "validate",
]

MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 5_000.0
DEFAULT_GRACE_S = 30.0
"""How long a camera left behind stays granted, in case the suspect turns back."""
POLICY_ACTOR = "vigie-policy"
"""The service principal named as actor of decisions no person requested (expiry, grace)."""

REASON_CLOSED = "incident closed"
REASON_EXPIRED = "expired: the agreement's maximum duration is reached"
REASON_LEFT_BEHIND = "left behind: no longer near the incident"


# --------------------------------------------------------------------------- commands


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


# --------------------------------------------------------------------------- state


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


# --------------------------------------------------------------------------- agreements


def grant_id(incident_id: str, camera_id: str) -> str:
    """Stable id of the grant of `camera_id` for `incident_id`: reprocessing overwrites it."""
    return f"{incident_id}:{camera_id}"


def _in_scope(agreement: SharingAgreement, camera: Camera) -> bool:
    zone_ok = not agreement.zones or camera.zone in agreement.zones
    tags_ok = not agreement.tags or not set(agreement.tags).isdisjoint(camera.tags)
    return zone_ok and tags_ok


def matching_agreements(
    config: VigieConfig, camera: Camera, grantee: str, kind: IncidentKind
) -> list[SharingAgreement]:
    """The agreements that share `camera` with `grantee` for an incident of `kind`."""
    return [
        agreement
        for agreement in config.agreements
        if agreement.owner == camera.operator
        and agreement.grantee == grantee
        and kind in agreement.incident_kinds
        and _in_scope(agreement, camera)
    ]


def allowed_kinds(config: VigieConfig, operator: str) -> frozenset[IncidentKind]:
    """Incident kinds for which at least one agreement shares cameras with `operator`."""
    return frozenset(
        kind
        for agreement in config.agreements
        if agreement.grantee == operator
        for kind in agreement.incident_kinds
    )


def desired_grants(
    config: VigieConfig, incident: Incident, at: datetime
) -> dict[str, DesiredGrant]:
    """Camera id -> the grant `incident` justifies at `at`; empty for a closed incident.

    Candidates are the cameras within the radius plus the adjacency-predicted next cameras in
    the direction of travel; a candidate is granted when it belongs to another operator, an
    agreement covers it (see matching_agreements) and that coverage has not expired at `at`.
    """
    if incident.status is IncidentStatus.CLOSED:
        return {}
    near = geometry.cameras_within(config.cameras, incident.position, incident.radius_m)
    near_ids = {camera.id for camera in near}
    registry = config.cameras_by_id
    ahead_ids = geometry.next_cameras(
        config.links, registry, near_ids, incident.previous_position, incident.position
    )
    candidates = [*near, *(registry[camera_id] for camera_id in sorted(ahead_ids))]
    desired: dict[str, DesiredGrant] = {}
    for camera in candidates:
        if camera.operator == incident.operator:
            continue
        agreements = matching_agreements(config, camera, incident.operator, incident.kind)
        if not agreements:
            continue
        valid_until = incident.opened_at + timedelta(
            minutes=max(a.max_duration_minutes for a in agreements)
        )
        if valid_until <= at:
            continue
        desired[camera.id] = DesiredGrant(
            camera_id=camera.id,
            owner=camera.operator,
            grantee=incident.operator,
            incident_id=incident.incident_id,
            legal_basis=incident.legal_basis,
            live=any(a.live for a in agreements),
            archive=any(a.archive for a in agreements),
            valid_until=valid_until,
            agreement_ids=tuple(sorted(a.id for a in agreements)),
            agreement_legal_bases=tuple(sorted({a.legal_basis for a in agreements})),
            ahead=camera.id in ahead_ids and camera.id not in near_ids,
        )
    return desired


# --------------------------------------------------------------------------- reconciliation


def _same_terms(grant: Grant, wanted: DesiredGrant) -> bool:
    return (grant.live, grant.archive, grant.valid_until, grant.agreement_id) == (
        wanted.live,
        wanted.archive,
        wanted.valid_until,
        wanted.agreement_id,
    )


def reconcile(
    current: Mapping[str, TrackedGrant],
    desired: Mapping[str, DesiredGrant],
    at: datetime,
    *,
    grace_s: float = DEFAULT_GRACE_S,
    granted_by: str,
    removal_reason: str = REASON_LEFT_BEHIND,
) -> GrantChanges:
    """Bring the active grants (`current`, by camera id) in line with `desired` at `at`.

    - a desired camera without a grant is granted now (valid_from = `at`);
    - a granted camera whose terms changed (live, archive, expiry, agreements) is re-granted
      under the same id, keeping its valid_from;
    - a granted camera desired again within its grace period simply stays granted;
    - an expired grant (valid_until <= `at`) is revoked now;
    - a granted camera no longer desired is revoked once it has been left behind for
      `grace_s` seconds (0: at once, e.g. on close), with `removal_reason`.

    Output lists are sorted by camera id, so the records are deterministic.
    """
    granted: list[Grant] = []
    revoked: list[Grant] = []
    tracked: dict[str, TrackedGrant] = {}
    grace = timedelta(seconds=grace_s)
    for camera_id in sorted(set(current) | set(desired)):
        held = current.get(camera_id)
        wanted = desired.get(camera_id)
        if held is None:
            assert wanted is not None  # one of the two exists: the union of both key sets
            grant = _new_grant(wanted, at, granted_by)
            granted.append(grant)
            tracked[camera_id] = TrackedGrant(grant=grant)
        elif held.grant.valid_until <= at:
            revoked.append(_revoked(held.grant, at, REASON_EXPIRED))
        elif wanted is not None:
            grant = held.grant
            if not _same_terms(grant, wanted):
                grant = dataclasses.replace(
                    grant,
                    live=wanted.live,
                    archive=wanted.archive,
                    valid_until=wanted.valid_until,
                    agreement_id=wanted.agreement_id,
                    reason=f"terms changed: {wanted.basis}",
                )
                granted.append(grant)
            tracked[camera_id] = TrackedGrant(grant=grant)
        else:
            since = held.left_behind_since or at
            if at - since >= grace:
                revoked.append(_revoked(held.grant, at, removal_reason))
            else:
                tracked[camera_id] = TrackedGrant(grant=held.grant, left_behind_since=since)
    return GrantChanges(grant=granted, revoke=revoked, tracked=tracked)


def _new_grant(wanted: DesiredGrant, at: datetime, granted_by: str) -> Grant:
    return Grant(
        grant_id=grant_id(wanted.incident_id, wanted.camera_id),
        incident_id=wanted.incident_id,
        camera_id=wanted.camera_id,
        owner_operator=wanted.owner,
        grantee_operator=wanted.grantee,
        live=wanted.live,
        archive=wanted.archive,
        valid_from=at,
        valid_until=wanted.valid_until,
        legal_basis=wanted.legal_basis,
        agreement_id=wanted.agreement_id,
        granted_by=granted_by,
        status=GrantStatus.ACTIVE,
        reason=wanted.basis,
    )


def _revoked(grant: Grant, at: datetime, reason: str) -> Grant:
    return dataclasses.replace(grant, status=GrantStatus.REVOKED, revoked_at=at, reason=reason)


def next_deadline(incident: Incident, grace_s: float = DEFAULT_GRACE_S) -> datetime | None:
    """The earliest time a tick would revoke something (expiry or end of a grace period)."""
    deadlines = [tracked.grant.valid_until for tracked in incident.grants.values()]
    deadlines += [
        tracked.left_behind_since + timedelta(seconds=grace_s)
        for tracked in incident.grants.values()
        if tracked.left_behind_since is not None
    ]
    return min(deadlines, default=None)


# --------------------------------------------------------------------------- validation


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _radius_problem(radius_m: float) -> str | None:
    if not math.isfinite(radius_m) or not MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M:
        return (
            f"radius {radius_m:g} m is out of bounds: between {MIN_RADIUS_M:g} m"
            f" and {MAX_RADIUS_M:g} m"
        )
    return None


def validate(incident: Incident | None, command: Command, config: VigieConfig) -> Refusal | None:
    """Why `command` cannot be applied to `incident` (None: no such incident yet), if it can't."""
    if _blank(command.incident_id):
        return Refusal("missing incident id")
    if _blank(command.requested_by):
        return Refusal("missing requester: every decision must name who asked for it")
    if isinstance(command, OpenIncident):
        return _open_problem(incident, command, config)
    if incident is None:
        return Refusal(f"unknown incident {command.incident_id!r}")
    if incident.status is IncidentStatus.CLOSED:
        return Refusal(f"incident {command.incident_id!r} is closed")
    if command.operator != incident.operator:
        return Refusal(
            f"only {incident.operator} may change incident {command.incident_id!r},"
            f" not {command.operator or 'an unnamed operator'}"
        )
    if isinstance(command, UpdateIncident):
        if command.position is None and command.radius_m is None:
            return Refusal("update changes nothing: give a new position and/or radius")
        if command.radius_m is not None:
            problem = _radius_problem(command.radius_m)
            if problem is not None:
                return Refusal(problem)
    return None


def _open_problem(
    incident: Incident | None, command: OpenIncident, config: VigieConfig
) -> Refusal | None:
    if incident is not None:
        return Refusal(f"incident id {command.incident_id!r} is already in use")
    known = {operator.id for operator in config.operators}
    if command.operator not in known:
        return Refusal(f"unknown operator {command.operator!r}")
    if _blank(command.legal_basis):
        return Refusal("missing legal basis: no camera is shared without one")
    problem = _radius_problem(command.radius_m)
    if problem is not None:
        return Refusal(problem)
    if command.kind not in allowed_kinds(config, command.operator):
        return Refusal(
            f"no sharing agreement allows {command.kind.value} incidents for {command.operator}"
        )
    return None


# --------------------------------------------------------------------------- records


def _record_kind(kind: IncidentKind) -> RecordIncidentKind:
    return RecordIncidentKind[kind.name]


def _audit_id(incident_id: str, at: datetime, action: AuditAction, camera_id: str | None) -> str:
    return f"{incident_id}/{to_epoch_us(at)}/{action.value}/{camera_id or '-'}"


def _audit(
    *,
    incident_id: str,
    at: datetime,
    actor: str,
    operator: str,
    action: AuditAction,
    reason: str,
    legal_basis: str | None,
    details: Mapping[str, str],
    camera_id: str | None = None,
    subject_operator: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        audit_id=_audit_id(incident_id, at, action, camera_id),
        time=at,
        actor=actor,
        operator=operator,
        action=action,
        subject_operator=subject_operator,
        camera_id=camera_id,
        incident_id=incident_id,
        legal_basis=legal_basis,
        reason=reason,
        details=dict(details),
        previous_hash=b"",
        record_hash=b"",
    )


def _claim_details(command: Command) -> dict[str, str]:
    """The client's own time, recorded as what it is: a claim, beside the server's time."""
    if command.claimed_at is None:
        return {}
    return {"claimed_at": command.claimed_at.isoformat()}


def _incident_details(incident: Incident) -> dict[str, str]:
    return {
        "incident_kind": incident.kind.value,
        "latitude": repr(incident.position.lat),
        "longitude": repr(incident.position.lon),
        "radius_m": repr(incident.radius_m),
    }


def _incident_event(
    incident: Incident, kind: IncidentEventKind, at: datetime, requested_by: str
) -> IncidentEvent:
    return IncidentEvent(
        incident_id=incident.incident_id,
        time=at,
        kind=kind,
        operator=incident.operator,
        incident_kind=_record_kind(incident.kind),
        latitude=incident.position.lat,
        longitude=incident.position.lon,
        radius_m=incident.radius_m,
        legal_basis=incident.legal_basis,
        requested_by=requested_by,
    )


def _grant_records(
    incident: Incident,
    changes: GrantChanges,
    desired: Mapping[str, DesiredGrant],
    at: datetime,
    actor: str,
) -> tuple[list[IncidentEvent], list[AuditRecord]]:
    events: list[IncidentEvent] = []
    audit: list[AuditRecord] = []
    for grant in changes.grant:
        wanted = desired[grant.camera_id]
        events.append(
            IncidentEvent(
                incident_id=incident.incident_id,
                time=at,
                kind=IncidentEventKind.CAMERA_GRANTED,
                operator=incident.operator,
                incident_kind=_record_kind(incident.kind),
                legal_basis=incident.legal_basis,
                requested_by=actor,
                camera_id=grant.camera_id,
                reason=grant.reason,
            )
        )
        audit.append(
            _audit(
                incident_id=incident.incident_id,
                at=at,
                actor=actor,
                operator=incident.operator,
                action=AuditAction.GRANT,
                reason=f"{wanted.basis} of {incident.kind.value} incident {incident.incident_id}",
                legal_basis=incident.legal_basis,
                camera_id=grant.camera_id,
                subject_operator=grant.owner_operator,
                details={
                    "grant_id": grant.grant_id,
                    "agreement_id": grant.agreement_id,
                    "agreement_legal_basis": " | ".join(wanted.agreement_legal_bases),
                    "live": str(grant.live).lower(),
                    "archive": str(grant.archive).lower(),
                    "valid_from": grant.valid_from.isoformat(),
                    "valid_until": grant.valid_until.isoformat(),
                },
            )
        )
    for grant in changes.revoke:
        reason = grant.reason or REASON_LEFT_BEHIND
        events.append(
            IncidentEvent(
                incident_id=incident.incident_id,
                time=at,
                kind=IncidentEventKind.CAMERA_REVOKED,
                operator=incident.operator,
                incident_kind=_record_kind(incident.kind),
                requested_by=actor,
                camera_id=grant.camera_id,
                reason=reason,
            )
        )
        audit.append(
            _audit(
                incident_id=incident.incident_id,
                at=at,
                actor=actor,
                operator=incident.operator,
                action=AuditAction.REVOKE,
                reason=reason,
                legal_basis=incident.legal_basis,
                camera_id=grant.camera_id,
                subject_operator=grant.owner_operator,
                details={"grant_id": grant.grant_id, "agreement_id": grant.agreement_id},
            )
        )
    return events, audit


# --------------------------------------------------------------------------- decisions


def _is_replay(incident: Incident | None, command: Command) -> bool:
    if incident is None or command.seq is None:
        return False
    return command.seq <= incident.last_seq


def _remember(incident: Incident, command: Command) -> Incident:
    if command.seq is None:
        return incident
    return dataclasses.replace(incident, last_seq=command.seq)


def _refuse(incident: Incident | None, command: Command, refusal: Refusal) -> Decision:
    operator = command.operator if isinstance(command, OpenIncident) else None
    if operator is None:
        operator = incident.operator if incident is not None else ""
    event = IncidentEvent(
        incident_id=command.incident_id,
        time=command.at,
        kind=IncidentEventKind.REFUSED,
        operator=operator,
        requested_by=command.requested_by,
        reason=refusal.reason,
    )
    details = {"command": type(command).__name__, **_claim_details(command)}
    legal_basis: str | None = None
    if isinstance(command, OpenIncident):
        event = dataclasses.replace(
            event,
            incident_kind=_record_kind(command.kind),
            latitude=command.position.lat,
            longitude=command.position.lon,
            radius_m=command.radius_m if math.isfinite(command.radius_m) else None,
            legal_basis=command.legal_basis,
        )
        details["incident_kind"] = command.kind.value
        legal_basis = None if _blank(command.legal_basis) else command.legal_basis
    record = _audit(
        incident_id=command.incident_id,
        at=command.at,
        actor=command.requested_by,
        operator=operator,
        action=AuditAction.REFUSAL,
        reason=refusal.reason,
        legal_basis=legal_basis,
        details=details,
    )
    return Decision(incident=incident, events=(event,), audit=(record,), refusal=refusal)


def handle(
    incident: Incident | None,
    command: Command,
    config: VigieConfig,
    *,
    grace_s: float = DEFAULT_GRACE_S,
) -> Decision:
    """Apply `command` to `incident` (its current state; None if unknown), at `command.at`.

    Refused commands change nothing and emit a REFUSED event and a REFUSAL audit record.
    Accepted ones emit, in order: OPENED/UPDATED, the grants and revocations they cause
    (CAMERA_GRANTED/CAMERA_REVOKED, GRANT/REVOKE audit), and for a close, CLOSED last.
    A redelivered command emits nothing (see the module docstring).
    """
    if _is_replay(incident, command):
        return Decision(incident=incident, replay=True)
    refusal = validate(incident, command, config)
    if refusal is not None:
        return _refuse(incident, command, refusal)
    at = command.at
    actor = command.requested_by
    if isinstance(command, OpenIncident):
        assert command.legal_basis is not None  # validated above
        state = Incident(
            incident_id=command.incident_id,
            operator=command.operator,
            kind=command.kind,
            position=command.position,
            radius_m=command.radius_m,
            legal_basis=command.legal_basis.strip(),
            requested_by=actor,
            opened_at=at,
        )
        head_event, head_action = IncidentEventKind.OPENED, AuditAction.INCIDENT_OPENED
        head_reason = f"{command.kind.value} incident opened"
    elif isinstance(command, UpdateIncident):
        assert incident is not None  # validated above
        state = _moved(incident, command)
        head_event, head_action = IncidentEventKind.UPDATED, AuditAction.INCIDENT_UPDATED
        head_reason = "incident moved or resized"
    else:
        assert incident is not None  # validated above
        state = dataclasses.replace(incident, status=IncidentStatus.CLOSED, closed_at=at)
        head_event, head_action = IncidentEventKind.CLOSED, AuditAction.INCIDENT_CLOSED
        head_reason = "incident closed"

    closing = state.status is IncidentStatus.CLOSED
    desired = desired_grants(config, state, at)
    changes = reconcile(
        state.grants,
        desired,
        at,
        grace_s=0.0 if closing else grace_s,
        granted_by=actor,
        removal_reason=REASON_CLOSED if closing else REASON_LEFT_BEHIND,
    )
    state = _remember(dataclasses.replace(state, grants=changes.tracked), command)
    grant_events, grant_audit = _grant_records(state, changes, desired, at, actor)
    head = _incident_event(state, head_event, at, actor)
    head_audit = _audit(
        incident_id=state.incident_id,
        at=at,
        actor=actor,
        operator=state.operator,
        action=head_action,
        reason=head_reason,
        legal_basis=state.legal_basis,
        details={**_incident_details(state), **_claim_details(command)},
    )
    if closing:
        events = (*grant_events, head)
        audit = (*grant_audit, head_audit)
    else:
        events = (head, *grant_events)
        audit = (head_audit, *grant_audit)
    return Decision(
        incident=state,
        grants=(*changes.grant, *changes.revoke),
        events=events,
        audit=audit,
    )


def _moved(incident: Incident, command: UpdateIncident) -> Incident:
    position = command.position or incident.position
    previous = incident.previous_position
    if geometry.distance_m(incident.position, position) >= geometry.MIN_MOVE_M:
        previous = incident.position
    radius = incident.radius_m if command.radius_m is None else command.radius_m
    return dataclasses.replace(
        incident, position=position, previous_position=previous, radius_m=radius
    )


def tick(
    incident: Incident | None,
    config: VigieConfig,
    at: datetime,
    *,
    grace_s: float = DEFAULT_GRACE_S,
) -> Decision:
    """Let time pass to `at` (processing time): revoke expired grants and cameras left behind
    longer than `grace_s`. Decided by the policy service itself (actor POLICY_ACTOR).

    Call it from a timer for every open incident (every second keeps revocation within a
    second of its deadline; `next_deadline` says when the next one is due).
    """
    if incident is None or incident.status is IncidentStatus.CLOSED:
        return Decision(incident=incident)
    desired = desired_grants(config, incident, at)
    changes = reconcile(incident.grants, desired, at, grace_s=grace_s, granted_by=POLICY_ACTOR)
    if not changes.grant and not changes.revoke and changes.tracked == incident.grants:
        return Decision(incident=incident)
    state = dataclasses.replace(incident, grants=changes.tracked)
    events, audit = _grant_records(state, changes, desired, at, POLICY_ACTOR)
    return Decision(
        incident=state,
        grants=(*changes.grant, *changes.revoke),
        events=tuple(events),
        audit=tuple(audit),
    )

"""Applying a command to an incident: replay check, validation, new state and its records."""

from __future__ import annotations

import dataclasses
import math

from schemas.config import VigieConfig
from schemas.records import AuditAction, IncidentEvent, IncidentEventKind
from streams import geometry
from streams.incidents.agreements import desired_grants
from streams.incidents.commands import Command, OpenIncident, Refusal, UpdateIncident
from streams.incidents.constants import DEFAULT_GRACE_S, REASON_CLOSED, REASON_LEFT_BEHIND
from streams.incidents.reconciliation import reconcile
from streams.incidents.records import (
    _audit,
    _claim_details,
    _grant_records,
    _incident_details,
    _incident_event,
    _record_kind,
)
from streams.incidents.state import Decision, Incident, IncidentStatus
from streams.incidents.validation import _blank, validate


def _is_replay(incident: Incident | None, command: Command) -> bool:
    if incident is None or command.seq is None:
        return False
    return command.seq <= incident.last_seq


def _remember(incident: Incident, command: Command) -> Incident:
    if command.seq is None:
        return incident
    return dataclasses.replace(incident, last_seq=command.seq)


def _refuse(incident: Incident | None, command: Command, refusal: Refusal) -> Decision:
    # The refusal belongs to the operator who asked (it alone hears of it), never to the
    # incident's own operator.
    operator = command.operator
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
    A redelivered command emits nothing (see the package docstring).
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

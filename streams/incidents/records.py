"""Builders of the records a decision sends: incident events and audit record drafts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from schemas.config import IncidentKind
from schemas.headers import to_epoch_us
from schemas.records import AuditAction, AuditRecord, IncidentEvent, IncidentEventKind
from schemas.records import IncidentKind as RecordIncidentKind
from streams.incidents.commands import Command
from streams.incidents.constants import REASON_LEFT_BEHIND
from streams.incidents.state import DesiredGrant, GrantChanges, Incident


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

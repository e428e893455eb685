"""Audit records of forwarding starting and stopping, pure.

Every policy worker keeps the whole grant index, so every worker sees the same start and stop
of forwarding. The audit id is derived from the grant and the moment it took effect, so the
drafts of all workers (and of a worker re-reading the grants after a restart) are the same
record, which the audit sealer writes once.
"""

from __future__ import annotations

from schemas.headers import to_epoch_us
from schemas.records import AuditAction, AuditRecord, Grant, GrantStatus
from schemas.topics import shared_topic
from streams.incidents import POLICY_ACTOR

__all__ = ["forwarding_audit"]


def forwarding_audit(grant: Grant) -> AuditRecord:
    """The FORWARD_START (active live grant) or FORWARD_STOP (anything else) draft of a grant
    record that changed live forwarding."""
    starts = grant.status is GrantStatus.ACTIVE and grant.live
    action = AuditAction.FORWARD_START if starts else AuditAction.FORWARD_STOP
    at = grant.valid_from if starts else (grant.revoked_at or grant.valid_from)
    target = shared_topic(grant.grantee_operator)
    if starts:
        reason = f"live frames of camera {grant.camera_id} forwarded to {target}"
    else:
        why = grant.reason or "grant no longer live"
        reason = f"forwarding of camera {grant.camera_id} to {target} stopped: {why}"
    return AuditRecord(
        audit_id=f"{grant.grant_id}/{to_epoch_us(at)}/{action.value}",
        time=at,
        actor=POLICY_ACTOR,
        operator=grant.grantee_operator,
        action=action,
        subject_operator=grant.owner_operator,
        camera_id=grant.camera_id,
        incident_id=grant.incident_id,
        legal_basis=grant.legal_basis,
        reason=reason,
        details={
            "grant_id": grant.grant_id,
            "agreement_id": grant.agreement_id,
            "valid_until": grant.valid_until.isoformat(),
        },
        previous_hash=b"",
        record_hash=b"",
    )

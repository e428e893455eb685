"""How the room audits what people do, in one place: before the act (`audited`: 503 if the
record cannot be written), every refusal (`refuse`: still refused if it cannot), the end of a
live view (`audit_soon`: written as soon as it happens, in a task of its own), and the live
views that every route and the live socket start and end the same way."""

from __future__ import annotations

import asyncio
import logging

from fastapi import HTTPException

from consumers.archive.audit import draft
from consumers.room.auth import User
from consumers.room.room import Room
from consumers.room.writer import AuditUnavailable
from schemas.records import AuditAction, AuditRecord

logger = logging.getLogger(__name__)

__all__ = [
    "audit_soon",
    "audited",
    "live_grant_ids",
    "live_view_ended",
    "live_view_started",
    "record_refusal",
    "refuse",
]


def _record(
    user: User,
    action: AuditAction,
    reason: str,
    camera_id: str | None,
    subject_operator: str | None,
    incident_id: str | None,
    details: dict[str, str],
) -> AuditRecord:
    return draft(
        actor=user.name,
        operator=user.operator,
        action=action,
        reason=reason,
        subject_operator=subject_operator,
        camera_id=camera_id,
        incident_id=incident_id,
        details=details,
    )


async def audited(
    room: Room,
    user: User,
    action: AuditAction,
    reason: str,
    *,
    camera_id: str | None = None,
    subject_operator: str | None = None,
    incident_id: str | None = None,
    **details: str,
) -> None:
    """Write the audit draft of an act before it happens; 503 if it cannot be written."""
    record = _record(user, action, reason, camera_id, subject_operator, incident_id, details)
    try:
        await room.writer.audit(record)
    except AuditUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc


async def record_refusal(
    room: Room,
    user: User,
    why: str,
    *,
    camera_id: str | None = None,
    subject_operator: str | None = None,
    incident_id: str | None = None,
    **details: str,
) -> None:
    """Audit a refusal; a refusal that cannot be audited is still a refusal (and says so in
    the log)."""
    try:
        await audited(
            room, user, AuditAction.REFUSAL, why, camera_id=camera_id,
            subject_operator=subject_operator, incident_id=incident_id, **details,
        )  # fmt: skip
    except HTTPException as exc:
        logger.warning("refusal of %s not audited (%s): %s", user.name, exc.detail, why)


async def refuse(
    room: Room,
    user: User,
    status: int,
    why: str,
    *,
    camera_id: str | None = None,
    subject_operator: str | None = None,
    incident_id: str | None = None,
    **details: str,
) -> HTTPException:
    """A refusal, audited: the exception to raise."""
    await record_refusal(
        room, user, why, camera_id=camera_id, subject_operator=subject_operator,
        incident_id=incident_id, **details,
    )  # fmt: skip
    return HTTPException(status, why)


_pending: set[asyncio.Task[None]] = set()


def audit_soon(
    room: Room,
    user: User,
    action: AuditAction,
    reason: str,
    *,
    camera_id: str | None = None,
    subject_operator: str | None = None,
    **details: str,
) -> None:
    """What cannot be audited before it happens (an end), written as soon as it does, in a
    task of its own: the caller's task may be cancelled as its client leaves."""
    record = _record(user, action, reason, camera_id, subject_operator, None, details)
    task = asyncio.create_task(room.writer.audit(record))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def live_grant_ids(room: Room, user: User, camera_id: str) -> str:
    """Why a shared camera may be seen: the live grants in force (none for an own camera)."""
    return ",".join(g.grant_id for g in room.picture(user.operator).live_grants(camera_id))


async def live_view_started(room: Room, user: User, camera_id: str, owner: str) -> None:
    await audited(
        room, user, AuditAction.LIVE_VIEW, "live view started", camera_id=camera_id,
        subject_operator=owner, view="live", phase="start",
        grants=live_grant_ids(room, user, camera_id),
    )  # fmt: skip


def live_view_ended(
    room: Room, user: User, camera_id: str, owner: str, why: str, frames: int
) -> None:
    audit_soon(
        room, user, AuditAction.LIVE_VIEW, f"live view ended: {why}", camera_id=camera_id,
        subject_operator=owner, view="live", phase="end", frames=str(frames),
    )  # fmt: skip

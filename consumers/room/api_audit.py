"""The audit trail in the room, for auditors: the report of who saw what, when and why.

An auditor sees no image; the room reads the sealed `audit` topic as itself (it may read it,
not write it), restricted to the records that concern the auditor's own operator (as the
acting operator or as the operator whose cameras or data were concerned). Records that are not
audit records are counted, never silently dropped from the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from consumers.room.app import ERROR_RESPONSES
from consumers.room.deps import Auditor
from consumers.room.room import Room
from runtime.topic_reader import read_partitions
from schemas.audit_report import render_report
from schemas.audit_trail import read_trail
from schemas.records import AuditRecord
from schemas.topics import AUDIT

__all__ = ["audit_router", "concerns"]

MAX_SPAN = timedelta(days=366)


class AuditEntry(BaseModel):
    time: datetime
    action: str
    actor: str
    operator: str
    subject_operator: str | None
    camera_id: str | None
    incident_id: str | None
    legal_basis: str | None
    reason: str
    details: dict[str, str]


class AuditReportOut(BaseModel):
    operator: str
    start: datetime
    end: datetime
    records: list[AuditEntry]
    junk: int
    """Records on the topic that are not audit records (reported, not in the report)."""
    text: str


def concerns(record: AuditRecord, operator: str) -> bool:
    return operator in (record.operator, record.subject_operator)


def audit_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERROR_RESPONSES)

    @router.get("/report")
    async def report(
        user: Auditor,
        start: Annotated[datetime, Query(description="ISO 8601 with its offset")],
        end: Annotated[datetime, Query(description="ISO 8601 with its offset")],
    ) -> AuditReportOut:
        """The audit report of [start, end) for the auditor's operator."""
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end need a UTC offset (e.g. 2026-12-01T12:00Z)")
        if not timedelta(0) < end - start <= MAX_SPAN:
            raise HTTPException(422, f"end must follow start by at most {MAX_SPAN.days} days")
        by_partition = await read_partitions(room.connection.kafka_bootstrap, AUDIT)
        chosen: list[AuditRecord] = []
        junk = 0
        for records in by_partition.values():
            trail = read_trail((r.offset, r.value) for r in records)
            junk += len(trail.junk)
            chosen += [
                r for _, r in trail.records if concerns(r, user.operator) and start <= r.time < end
            ]
        chosen.sort(key=lambda r: r.time)
        return AuditReportOut(
            operator=user.operator,
            start=start,
            end=end,
            records=[
                AuditEntry(
                    time=r.time,
                    action=r.action.value,
                    actor=r.actor,
                    operator=r.operator,
                    subject_operator=r.subject_operator,
                    camera_id=r.camera_id,
                    incident_id=r.incident_id,
                    legal_basis=r.legal_basis,
                    reason=r.reason,
                    details=dict(r.details),
                )
                for r in chosen
            ],
            junk=junk,
            text=render_report(chosen, start, end),
        )

    return router

"""Incidents in the room: list, open, move, close, hold and release their evidence.

What a user sees and may change is decided here from its authenticated operator and roles,
and again by the policy worker (only an incident's own operator moves or closes it). An
incident that does not concern the user's operator is answered 404 exactly like a missing
one: a user never learns that another operator's incident exists. Commands are accepted
(202) once the broker holds them; the policy decides and audits them, and the incident's
state (open, refused with the reason) shows on `GET /api/incidents/{id}` a moment later.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field, model_validator

from consumers.archive.evidence import hold_incident
from consumers.room.app import ERROR_RESPONSES
from consumers.room.auditing import refuse
from consumers.room.auth import User
from consumers.room.deps import CurrentUser, Officer, Supervisor
from consumers.room.picture import IncidentSummary
from consumers.room.room import Room
from schemas.config import IncidentKind
from schemas.incident_commands import close_record, open_record, update_record

__all__ = ["INCIDENT_ID", "IncidentId", "incidents_router", "new_incident_id"]

INCIDENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
IncidentId = Annotated[str, Path(pattern=INCIDENT_ID, description="an incident id")]


def new_incident_id(operator: str, at: datetime) -> str:
    """Ids are the server's: unguessable, so no one can probe for another's incident."""
    return f"{operator[:24]}-{at:%Y%m%d}-{uuid.uuid4().hex[:10]}"


class IncidentOut(BaseModel):
    incident_id: str
    operator: str
    status: Literal["open", "closed", "refused"]
    kind: str | None
    latitude: float | None
    longitude: float | None
    radius_m: float | None
    legal_basis: str | None
    opened_by: str | None
    cameras: list[str] = Field(description="other operators' cameras shared for it now")
    last_event: datetime | None
    last_event_kind: str | None = Field(description="e.g. refused: the last command was")
    reason: str | None = Field(description="why the last command was refused, if it was")
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    trail: list[tuple[float, float]] = Field(
        default_factory=list, description="its positions (latitude, longitude), oldest first"
    )
    ever_shared: list[str] = Field(
        default_factory=list, description="other operators' cameras shared for it at any time"
    )

    @classmethod
    def of(cls, s: IncidentSummary) -> IncidentOut:
        return cls(
            incident_id=s.incident_id,
            operator=s.operator,
            status=s.status,  # type: ignore[arg-type]
            kind=s.kind,
            latitude=s.latitude,
            longitude=s.longitude,
            radius_m=s.radius_m,
            legal_basis=s.legal_basis,
            opened_by=s.opened_by,
            cameras=sorted(s.cameras),
            last_event=s.last,
            last_event_kind=s.last_kind,
            reason=s.reason,
            opened_at=s.opened_at,
            closed_at=s.closed_at,
            trail=list(s.trail),
            ever_shared=sorted(s.ever_shared),
        )


class OpenIncident(BaseModel):
    kind: IncidentKind
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=100_000, description="the policy bounds it further")
    legal_basis: str = Field(min_length=3, max_length=500, description="why the law allows it")


class MoveIncident(BaseModel):
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=100_000)

    @model_validator(mode="after")
    def _says_something(self) -> MoveIncident:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.latitude is None and self.radius_m is None:
            raise ValueError("give a new position and/or radius")
        return self


class Accepted(BaseModel):
    incident_id: str
    accepted: bool = True
    detail: str = "submitted to the policy; follow GET /api/incidents/{incident_id}"


class Reason(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="why, for the audit")


class HoldOut(BaseModel):
    incident_id: str
    held: bool
    windows: int
    objects: int


def incidents_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/incidents", tags=["incidents"], responses=ERROR_RESPONSES)

    async def unknown(user: User, incident_id: str, request: str) -> HTTPException:
        """404, the same for a missing incident and another operator's; audited (a probe is
        on record for the requester's auditors, and tells no one else anything)."""
        why = f"no incident {incident_id} for {user.operator}"
        return await refuse(room, user, 404, why, incident_id=incident_id, request=request)

    async def concerning(user: User, incident_id: str) -> IncidentSummary:
        found = room.picture(user.operator).incident(incident_id)
        if found is None:
            raise await unknown(user, incident_id, "GET")
        return found

    async def own_open(user: User, incident_id: str, request: str) -> IncidentSummary:
        found = room.picture(user.operator).own_incident(incident_id)
        if found is None:
            raise await unknown(user, incident_id, request)
        if found.status != "open":
            raise HTTPException(409, f"incident {incident_id} is {found.status}")
        return found

    @router.get("")
    def list_incidents(user: CurrentUser) -> list[IncidentOut]:
        """The incidents that concern the user's operator, newest first."""
        found = room.picture(user.operator).incidents.values()
        newest = sorted(found, key=lambda s: s.last or datetime.min.replace(tzinfo=UTC))
        return [IncidentOut.of(s) for s in reversed(newest)]

    @router.get("/{incident_id}")
    async def get_incident(user: CurrentUser, incident_id: IncidentId) -> IncidentOut:
        return IncidentOut.of(await concerning(user, incident_id))

    @router.post("", status_code=202)
    async def open_incident(user: Officer, body: OpenIncident) -> Accepted:
        """Open an incident of the user's operator, around a position."""
        at = datetime.now(UTC)
        record = open_record(
            incident_id=new_incident_id(user.operator, at),
            operator=user.operator,
            kind=body.kind,
            latitude=body.latitude,
            longitude=body.longitude,
            radius_m=body.radius_m,
            legal_basis=body.legal_basis,
            requested_by=user.name,
            at=at,
        )
        await room.writer.command(record)
        return Accepted(incident_id=record.incident_id)

    @router.patch("/{incident_id}", status_code=202)
    async def move_incident(user: Officer, incident_id: IncidentId, body: MoveIncident) -> Accepted:
        """Move an open incident of the user's operator (a suspect is followed) or resize it."""
        await own_open(user, incident_id, "move")
        record = update_record(
            incident_id=incident_id,
            operator=user.operator,
            latitude=body.latitude,
            longitude=body.longitude,
            radius_m=body.radius_m,
            requested_by=user.name,
            at=datetime.now(UTC),
        )
        await room.writer.command(record)
        return Accepted(incident_id=incident_id)

    @router.post("/{incident_id}/close", status_code=202)
    async def close_incident(user: Officer, incident_id: IncidentId) -> Accepted:
        """Close: every grant it justified ends at once."""
        await own_open(user, incident_id, "close")
        record = close_record(
            incident_id=incident_id,
            operator=user.operator,
            requested_by=user.name,
            at=datetime.now(UTC),
        )
        await room.writer.command(record)
        return Accepted(incident_id=incident_id)

    async def _hold(user: Supervisor, incident_id: str, body: Reason, release: bool) -> HoldOut:
        found = room.picture(user.operator).own_incident(incident_id)
        if found is None:
            raise await unknown(user, incident_id, "release" if release else "hold")
        results = await hold_incident(
            room.connection,
            incident_id=incident_id,
            actor=user.name,
            reason=body.reason,
            release=release,
            client=await asyncio.to_thread(room.evidence_archive),
            actor_operator=user.operator,
        )
        return HoldOut(
            incident_id=incident_id,
            held=not release,
            windows=len(results),
            objects=sum(len(r.objects) for r in results),
        )

    @router.post("/{incident_id}/hold")
    async def hold(user: Supervisor, incident_id: IncidentId, body: Reason) -> HoldOut:
        """Put every archived chunk the incident's grants reached under legal hold (audited
        before it is done)."""
        return await _hold(user, incident_id, body, release=False)

    @router.post("/{incident_id}/release")
    async def release(user: Supervisor, incident_id: IncidentId, body: Reason) -> HoldOut:
        return await _hold(user, incident_id, body, release=True)

    return router

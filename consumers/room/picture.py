"""What one operator's users may see now, as pure state: its own cameras, the cameras of others
shared with it at this moment, their newest frames, and the incidents that concern it.

Fed only from topics that operator's principal may read (``consumers.room.feeds``), so the
broker has already decided what can arrive here; this state decides again what is *served*:
a shared camera only while a live grant to this operator is in force (the last frame of a
revoked camera is no longer shown), never a frame whose body and headers disagree on the camera.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from consumers.room.live_view import CamerasView, LiveCamera
from schemas.records import Camera, Grant, GrantStatus, IncidentEvent, IncidentEventKind

__all__ = ["IncidentSummary", "OperatorPicture"]


_UNDER_WAY = (
    IncidentEventKind.UPDATED,
    IncidentEventKind.CAMERA_GRANTED,
    IncidentEventKind.CAMERA_REVOKED,
)


@dataclass
class IncidentSummary:
    """An incident as its events tell it, in topic order."""

    incident_id: str
    operator: str
    status: str = "refused"
    kind: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    legal_basis: str | None = None
    cameras: set[str] = field(default_factory=set)
    opened_by: str | None = None
    last: datetime | None = None
    last_kind: str | None = None
    """The kind of the last event (``refused``: the last command was refused)."""
    reason: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    trail: list[tuple[float, float]] = field(default_factory=list)
    """Every position it was given, oldest first (the last ``TRAIL_LENGTH``)."""
    ever_shared: set[str] = field(default_factory=set)
    """Every camera of others shared for it at some moment (where its archive may be asked)."""


TRAIL_LENGTH = 500


def _apply(incidents: dict[str, IncidentSummary], e: IncidentEvent) -> IncidentSummary:
    s = incidents.setdefault(e.incident_id, IncidentSummary(e.incident_id, e.operator))
    s.last, s.last_kind = e.time, e.kind.value.lower()
    if e.incident_kind is not None:
        s.kind = e.incident_kind.value.lower()
    if e.latitude is not None and e.longitude is not None:
        s.latitude, s.longitude = e.latitude, e.longitude
        if not s.trail or s.trail[-1] != (e.latitude, e.longitude):
            s.trail = [*s.trail[-(TRAIL_LENGTH - 1) :], (e.latitude, e.longitude)]
    if e.radius_m is not None:
        s.radius_m = e.radius_m
    if e.legal_basis:
        s.legal_basis = e.legal_basis
    if e.kind in _UNDER_WAY and s.status == "refused" and s.reason is None:
        # An operator concerned only from a later step never saw the opening.
        s.status = "open"
    if e.kind is IncidentEventKind.OPENED:
        s.status, s.operator, s.opened_by = "open", e.operator, e.requested_by
        s.opened_at = e.time
    elif e.kind is IncidentEventKind.CLOSED:
        s.status, s.closed_at = "closed", e.time
    elif e.kind is IncidentEventKind.REFUSED:
        s.reason = e.reason
    elif e.kind is IncidentEventKind.CAMERA_GRANTED and e.camera_id:
        s.cameras.add(e.camera_id)
        s.ever_shared.add(e.camera_id)
    elif e.kind is IncidentEventKind.CAMERA_REVOKED and e.camera_id:
        s.cameras.discard(e.camera_id)
    return s


@dataclass
class OperatorPicture:
    operator: str
    grants: Callable[[], Iterable[Grant]] = tuple
    """The grants in force (the `grants` topic, read by the room): what is shared now."""
    view: CamerasView = field(init=False)
    incidents: dict[str, IncidentSummary] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.view = CamerasView(self.operator)

    # ------------------------------------------------------------------ feeding

    def on_registry(self, camera: Camera) -> None:
        self.view.on_registry(camera)

    def on_incident(self, event: IncidentEvent) -> None:
        _apply(self.incidents, event)

    # ------------------------------------------------------------------ deciding

    def _shows(self, grant: Grant, at: datetime) -> bool:
        """A grant lets this operator see its camera live at `at`: active, live, to it, from
        the camera's owner, within its validity (an archive-only grant shows nothing, and an
        expired one nothing either, even before the policy revokes it)."""
        return (
            grant.grantee_operator == self.operator
            and grant.status is GrantStatus.ACTIVE
            and grant.live
            and grant.valid_from <= at < grant.valid_until
            and grant.owner_operator == self.owner_of(grant.camera_id)
        )

    def live_grants(self, camera_id: str, now: datetime | None = None) -> list[Grant]:
        """The grants that let this operator see `camera_id` live now."""
        at = now or datetime.now(UTC)
        return [g for g in self.grants() if g.camera_id == camera_id and self._shows(g, at)]

    def granted(self) -> set[str]:
        """Other operators' cameras shared live with this operator now."""
        at = datetime.now(UTC)
        return {g.camera_id for g in self.grants() if self._shows(g, at)}

    def owner_of(self, camera_id: str) -> str | None:
        camera = self.view.registry.get(camera_id)
        return camera.operator if camera is not None else None

    def may_see(self, camera_id: str) -> bool:
        """Own camera, or another's shared with this operator now."""
        return self.owner_of(camera_id) == self.operator or bool(self.live_grants(camera_id))

    def frame(self, camera_id: str) -> LiveCamera | None:
        """The newest frame this operator may be shown, if any."""
        if not self.may_see(camera_id):
            return None
        live = self.view.cameras.get(camera_id)
        return live if live is not None and live.jpeg else None

    def incident(self, incident_id: str) -> IncidentSummary | None:
        """An incident that concerns this operator; None for any other (missing or not)."""
        return self.incidents.get(incident_id)

    def own_incident(self, incident_id: str) -> IncidentSummary | None:
        s = self.incidents.get(incident_id)
        return s if s is not None and s.operator == self.operator else None

    def cameras(self) -> list[Camera]:
        """The registry entries of every camera this operator may see now, own first."""
        granted = self.granted()
        visible = [
            c
            for c in self.view.registry.values()
            if c.operator == self.operator or c.camera_id in granted
        ]
        return sorted(visible, key=lambda c: (c.operator != self.operator, c.name, c.camera_id))

"""What the room serves an operator: its own cameras, others' only while shared with it now,
never a frame whose body and headers name different cameras."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from consumers.room.feeds import apply_record, frame_problem
from consumers.room.picture import OperatorPicture
from schemas.codec import FRAME
from schemas.headers import frame_headers
from schemas.records import (
    Camera,
    Grant,
    GrantStatus,
    IncidentEvent,
    IncidentEventKind,
    IncidentKind,
    SourceKind,
)
from schemas.topics import frames_topic, shared_topic
from tests.builders import frame

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _camera(camera_id: str, operator: str) -> Camera:
    return Camera(
        camera_id=camera_id,
        operator=operator,
        name=camera_id,
        latitude=50.8,
        longitude=4.3,
        zone="centre",
        tags=(),
        profile="sd",
        source_kind=SourceKind.SYNTHETIC,
        active=True,
        updated_at=T0,
    )


def _event(kind: IncidentEventKind, camera: str | None = None, at: int = 0) -> IncidentEvent:
    return IncidentEvent(
        incident_id="inc-1",
        time=T0 + timedelta(seconds=at),
        kind=kind,
        operator="police",
        incident_kind=IncidentKind.PURSUIT if kind is IncidentEventKind.OPENED else None,
        camera_id=camera,
    )


def _record(
    topic: str, camera_id: str, owner: str, body_camera: str | None = None
) -> ConsumerRecord[bytes, bytes]:
    f = frame(owner, camera_id, 1, at=T0)
    body = frame(owner, body_camera, 1, at=T0) if body_camera else f
    return ConsumerRecord(
        topic=topic, partition=0, offset=0, timestamp=0, timestamp_type=0,
        key=camera_id.encode(), value=FRAME.encode(body), checksum=None,
        serialized_key_size=0, serialized_value_size=0, headers=tuple(frame_headers(f)),
    )  # fmt: skip


def _grant(camera: str, *, live: bool = True, minutes: int = 30, **changes: object) -> Grant:
    grant = Grant(
        grant_id=f"inc-1:{camera}", incident_id="inc-1", camera_id=camera,
        owner_operator="transit", grantee_operator="police", live=live, archive=True,
        valid_from=datetime.now(UTC) - timedelta(minutes=1),
        valid_until=datetime.now(UTC) + timedelta(minutes=minutes), legal_basis="art. 25",
        agreement_id="agr", granted_by="policy", status=GrantStatus.ACTIVE,
    )  # fmt: skip
    return dataclasses.replace(grant, **changes)  # type: ignore[arg-type]


def _police(grants: list[Grant] | None = None) -> OperatorPicture:
    shared = grants if grants is not None else []
    picture = OperatorPicture("police", grants=lambda: shared)
    for camera_id, owner in (("pc1", "police"), ("tc1", "transit"), ("tc2", "transit")):
        picture.on_registry(_camera(camera_id, owner))
    return picture


def test_a_shared_camera_is_served_while_granted_and_not_after() -> None:
    grants: list[Grant] = []
    police = _police(grants)
    apply_record(police.view, _record(shared_topic("police"), "tc1", "transit"))
    assert police.frame("tc1") is None  # a frame arrived, but no grant is known: not served
    grants.append(_grant("tc1"))
    assert police.may_see("tc1")
    assert police.frame("tc1") is not None
    assert [c.camera_id for c in police.cameras()] == ["pc1", "tc1"]
    grants[0] = dataclasses.replace(grants[0], status=GrantStatus.REVOKED)
    assert police.frame("tc1") is None  # the last frame of a revoked camera is not served
    assert [c.camera_id for c in police.cameras()] == ["pc1"]


def test_only_a_live_grant_in_force_to_this_operator_shows_a_camera() -> None:
    for grant in (
        _grant("tc2", live=False),  # archive only
        _grant("tc2", minutes=-1),  # expired, even before the policy revokes it
        _grant("tc2", grantee_operator="roads"),  # to someone else
        _grant("tc2", owner_operator="roads"),  # not from the camera's owner
    ):
        assert not _police([grant]).may_see("tc2"), grant
    assert _police([_grant("tc2")]).may_see("tc2")


def test_an_incident_of_another_operator_grants_this_one_nothing() -> None:
    """Transit follows the pursuit that shares its cameras with the police: that does not
    show transit the police's camera."""
    transit = OperatorPicture("transit", grants=lambda: [_grant("pc1", owner_operator="police")])
    transit.on_registry(_camera("pc1", "police"))
    transit.on_incident(_event(IncidentEventKind.OPENED))
    transit.on_incident(_event(IncidentEventKind.CAMERA_GRANTED, "pc1"))
    assert not transit.may_see("pc1")
    assert transit.incident("inc-1") is not None
    assert transit.own_incident("inc-1") is None


def test_a_frame_whose_body_names_another_camera_is_never_shown() -> None:
    police = _police()
    forged = _record(frames_topic("police"), "pc1", "police", body_camera="tc1")
    assert frame_problem(forged, "tc1") is not None
    apply_record(police.view, forged)
    assert police.frame("pc1") is None
    assert police.frame("tc1") is None
    apply_record(police.view, _record(frames_topic("police"), "pc1", "police"))
    assert police.frame("pc1") is not None


def test_an_operator_concerned_from_a_later_step_sees_the_incident_open() -> None:
    """Transit hears of the pursuit only when one of its cameras is granted, mid-way."""
    transit = OperatorPicture("transit")
    transit.on_incident(_event(IncidentEventKind.CAMERA_GRANTED, "tc1", at=30))
    found = transit.incident("inc-1")
    assert found is not None
    assert (found.status, found.cameras) == ("open", {"tc1"})


def test_an_incident_keeps_its_trail_its_times_and_every_camera_ever_shared() -> None:
    """What the page draws (the trail) and where it looks for the archive (the incident's
    window, the cameras shared for it at any time, even after their revocation)."""
    police = _police()
    opened = IncidentEvent(
        incident_id="inc-1", time=T0, kind=IncidentEventKind.OPENED, operator="police",
        incident_kind=IncidentKind.PURSUIT, latitude=50.0, longitude=4.0, radius_m=100.0,
    )  # fmt: skip
    police.on_incident(opened)
    police.on_incident(_event(IncidentEventKind.CAMERA_GRANTED, "tc1", at=1))
    moved = IncidentEvent(
        incident_id="inc-1", time=T0 + timedelta(seconds=2), kind=IncidentEventKind.UPDATED,
        operator="police", latitude=50.001, longitude=4.0,
    )  # fmt: skip
    police.on_incident(moved)
    police.on_incident(moved)  # a repeated position is not a new point of the trail
    police.on_incident(_event(IncidentEventKind.CAMERA_REVOKED, "tc1", at=3))
    police.on_incident(_event(IncidentEventKind.CLOSED, at=9))
    summary = police.incident("inc-1")
    assert summary is not None
    assert summary.trail == [(50.0, 4.0), (50.001, 4.0)]
    assert summary.opened_at == T0
    assert summary.closed_at == T0 + timedelta(seconds=9)
    assert summary.cameras == set()
    assert summary.ever_shared == {"tc1"}

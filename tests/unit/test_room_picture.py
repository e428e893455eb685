"""What the room serves an operator: its own cameras, others' only while shared with it now,
never a frame whose body and headers name different cameras."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from consumers.room.feeds import apply_record, frame_problem
from consumers.room.picture import OperatorPicture
from schemas.codec import FRAME
from schemas.headers import frame_headers
from schemas.records import Camera, IncidentEvent, IncidentEventKind, IncidentKind, SourceKind
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


def _police() -> OperatorPicture:
    picture = OperatorPicture("police")
    for camera_id, owner in (("pc1", "police"), ("tc1", "transit"), ("tc2", "transit")):
        picture.on_registry(_camera(camera_id, owner))
    return picture


def test_a_shared_camera_is_served_while_granted_and_not_after() -> None:
    police = _police()
    apply_record(police.view, _record(shared_topic("police"), "tc1", "transit"))
    assert police.frame("tc1") is None  # a frame arrived, but no grant is known: not served
    police.on_incident(_event(IncidentEventKind.OPENED))
    police.on_incident(_event(IncidentEventKind.CAMERA_GRANTED, "tc1"))
    assert police.may_see("tc1")
    assert police.frame("tc1") is not None
    assert [c.camera_id for c in police.cameras()] == ["pc1", "tc1"]
    police.on_incident(_event(IncidentEventKind.CAMERA_REVOKED, "tc1", at=5))
    assert police.frame("tc1") is None  # the last frame of a revoked camera is not served
    assert [c.camera_id for c in police.cameras()] == ["pc1"]


def test_a_closed_incident_shares_nothing_any_more() -> None:
    police = _police()
    police.on_incident(_event(IncidentEventKind.OPENED))
    police.on_incident(_event(IncidentEventKind.CAMERA_GRANTED, "tc2"))
    police.on_incident(_event(IncidentEventKind.CLOSED, at=9))
    assert not police.may_see("tc2")


def test_an_incident_of_another_operator_grants_this_one_nothing() -> None:
    """Transit follows the pursuit that shares its cameras with the police: that does not
    show transit the police's camera."""
    transit = OperatorPicture("transit")
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

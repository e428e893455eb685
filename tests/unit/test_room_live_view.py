"""The cameras of a room picture, decided from the records it receives (pure): the newest frame
wins, and camera events drive status, motion and tamper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.room.live_view import CamerasView
from schemas.records import (
    CameraEvent,
    CameraEventKind,
    TamperKind,
)

T0 = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_a_late_older_frame_never_replaces_the_newest_one() -> None:
    view = CamerasView("stib")
    view.on_frame("frames.stib", "cam", "stib", 5, T0 + timedelta(seconds=1), b"new")
    view.on_frame("frames.stib", "cam", "stib", 4, T0, b"old")
    assert view.cameras["cam"].jpeg == b"new"
    assert view.cameras["cam"].sequence == 5


def test_camera_events_drive_status_and_motion() -> None:
    view = CamerasView("stib")

    def event(kind: CameraEventKind, reason: str | None = None) -> CameraEvent:
        return CameraEvent(camera_id="cam", operator="stib", time=T0, kind=kind, reason=reason)

    view.on_camera_event(event(CameraEventKind.OFFLINE, "connection refused"))
    assert view.cameras["cam"].status == "OFFLINE"
    assert view.cameras["cam"].reason == "connection refused"
    view.on_camera_event(event(CameraEventKind.MOTION_START))
    assert view.cameras["cam"].motion
    view.on_frame("frames.stib", "cam", "stib", 1, T0, b"x")
    assert view.cameras["cam"].status == "ONLINE"  # frames flowing again
    view.on_camera_event(event(CameraEventKind.MOTION_END))
    assert not view.cameras["cam"].motion


def test_a_tamper_alert_shows_until_the_camera_comes_online_again() -> None:
    view = CamerasView("stib")
    view.on_camera_event(
        CameraEvent(
            camera_id="cam", operator="stib", time=T0, kind=CameraEventKind.TAMPER,
            reason="lens covered", tamper=TamperKind.COVERED,
        )
    )  # fmt: skip
    assert view.cameras["cam"].tamper == "covered"
    assert view.cameras["cam"].reason == "lens covered"
    view.on_camera_event(
        CameraEvent(camera_id="cam", operator="stib", time=T0, kind=CameraEventKind.ONLINE)
    )
    assert view.cameras["cam"].tamper is None


def test_own_and_shared_cameras_are_told_apart_by_the_topic_they_came_on() -> None:
    view = CamerasView("stib")
    view.on_frame("shared.stib", "grand-place", "police-x", 1, T0, b"a")
    view.on_frame("frames.stib", "stib-parc", "stib", 1, T0, b"b")
    assert view.cameras["grand-place"].shared
    assert view.cameras["grand-place"].owner == "police-x"
    assert not view.cameras["stib-parc"].shared

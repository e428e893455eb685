"""The page's live socket (`/api/live`) gives exactly what the MJPEG route gives, with the same
rights: nothing without a session or the viewer role, an operator's own cameras, another's only
while shared with it now (ended by the server when the grant goes), each live view audited
before its first frame and at its end, every refusal audited too. Through FastAPI's TestClient
on the room app, with the room's Kafka edge (feeds, writer) replaced by plain state."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from consumers.room import users as store
from consumers.room.api_live import live_router
from consumers.room.app import build_app
from consumers.room.auth import LocalAuthenticator
from consumers.room.picture import OperatorPicture
from consumers.room.room import Room
from consumers.room.sessions import SessionStore
from schemas.records import (
    AuditAction,
    AuditRecord,
    Camera,
    Grant,
    GrantStatus,
    IncidentEvent,
    IncidentEventKind,
    IncidentKind,
    SourceKind,
)
from schemas.topics import frames_topic, shared_topic

PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8live\xff\xd9"


class FakeWriter:
    def __init__(self) -> None:
        self.audited: list[AuditRecord] = []

    async def audit(self, record: AuditRecord) -> None:
        self.audited.append(record)


class FakeRoom:
    """What the live socket uses of the room: each operator's picture and the writer."""

    ready = True  # the room has read Kafka's state

    def __init__(self) -> None:
        self.writer = FakeWriter()
        self.grants: list[Grant] = []
        self.pictures = {
            op: OperatorPicture(op, grants=lambda: self.grants) for op in ("police", "transit")
        }
        for camera_id, owner in (("pc1", "police"), ("tc1", "transit")):
            for picture in self.pictures.values():
                picture.on_registry(_camera(camera_id, owner))

    def picture(self, operator: str) -> OperatorPicture:
        return self.pictures[operator]

    def frame(self, camera_id: str, owner: str, sequence: int) -> None:
        for picture in self.pictures.values():
            topic = (
                frames_topic(owner) if owner == picture.operator else shared_topic(picture.operator)
            )
            at = T0 + timedelta(milliseconds=100 * sequence)
            picture.view.on_frame(topic, camera_id, owner, sequence, at, JPEG)

    def grant(self, camera_id: str, owner: str) -> None:
        """A live grant of `camera_id` to the police, in force now (what the policy writes)."""
        now = datetime.now(UTC)
        self.grants.append(Grant(
            grant_id=f"inc-1:{camera_id}", incident_id="inc-1", camera_id=camera_id,
            owner_operator=owner, grantee_operator="police", live=True, archive=False,
            valid_from=now - timedelta(minutes=1), valid_until=now + timedelta(minutes=30),
            legal_basis="art. 25", agreement_id="agr", granted_by="policy",
            status=GrantStatus.ACTIVE,
        ))  # fmt: skip

    def revoke_all(self) -> None:
        self.grants = [dataclasses.replace(g, status=GrantStatus.REVOKED) for g in self.grants]

    def incident(self, kind: IncidentEventKind, camera: str | None = None) -> None:
        event = IncidentEvent(
            incident_id="inc-1",
            time=T0,
            kind=kind,
            operator="police",
            incident_kind=IncidentKind.PURSUIT if kind is IncidentEventKind.OPENED else None,
            camera_id=camera,
        )
        self.pictures["police"].on_incident(event)


def _camera(camera_id: str, operator: str) -> Camera:
    return Camera(
        camera_id=camera_id, operator=operator, name=camera_id, latitude=50.8, longitude=4.3,
        zone="centre", tags=(), profile="sd", source_kind=SourceKind.SYNTHETIC, active=True,
        updated_at=T0,
    )  # fmt: skip


@pytest.fixture
def room() -> FakeRoom:
    return FakeRoom()


@pytest.fixture
def client(tmp_path: Path, room: FakeRoom) -> Iterator[TestClient]:
    users_file = store.users_path(tmp_path)
    users: dict[str, store.UserRecord] = {}
    password_hash = store.hash_password(PASSWORD)
    for name, roles in (("vera", ["viewer"]), ("audrey", ["auditor"])):
        users = store.add_user(
            users, name=name, operator="police", roles=roles, password_hash=password_hash,
            operators=["police", "transit"], now=T0,
        )  # fmt: skip
    store.save_users(users_file, users)
    app = build_app(
        authenticator=LocalAuthenticator(users_file),
        sessions=SessionStore(),
        routers=[live_router(cast(Room, room))],
        secure_cookies=False,
    )
    with TestClient(app) as test_client:
        yield test_client


def _sign_in(client: TestClient, user: str = "vera") -> None:
    answer = client.post("/api/session", json={"user": user, "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def _frame(message: bytes) -> tuple[dict[str, Any], bytes]:
    length = int.from_bytes(message[:2], "big")
    header: dict[str, Any] = json.loads(message[2 : 2 + length])
    return header, message[2 + length :]


def _phases(room: FakeRoom, camera_id: str) -> list[str]:
    return [
        r.details.get("phase", "")
        for r in room.writer.audited
        if r.action is AuditAction.LIVE_VIEW and r.camera_id == camera_id
    ]


def test_without_a_session_or_the_viewer_role_the_socket_is_closed(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/api/live"):
        pass
    assert closed.value.code == 4401
    _sign_in(client, "audrey")  # an auditor sees no image
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/api/live"):
        pass
    assert closed.value.code == 4403


def test_own_camera_frames_come_with_their_capture_time_audited_start_and_end(
    client: TestClient, room: FakeRoom
) -> None:
    _sign_in(client)
    room.frame("pc1", "police", 1)
    with client.websocket_connect("/api/live") as socket:
        socket.send_text(json.dumps({"watch": "pc1", "max_fps": 5}))
        header, jpeg = _frame(socket.receive_bytes())
        assert header["camera_id"] == "pc1"
        assert header["capture_time"].startswith("2026-12-01T12:00:00.1")
        assert jpeg == JPEG
        assert _phases(room, "pc1") == ["start"]
        socket.send_text(json.dumps({"unwatch": "pc1"}))
        socket.send_text(json.dumps({"watch": "nope!"}))  # invalid: an error, not a crash
        assert json.loads(socket.receive_text())["event"] == "error"
    deadline = time.monotonic() + 5
    while _phases(room, "pc1") != ["start", "end"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _phases(room, "pc1") == ["start", "end"]


def test_another_s_camera_is_refused_unless_shared_and_ended_when_the_grant_goes(
    client: TestClient, room: FakeRoom
) -> None:
    _sign_in(client)
    room.frame("tc1", "transit", 1)
    with client.websocket_connect("/api/live") as socket:
        socket.send_text(json.dumps({"watch": "tc1"}))
        refused = json.loads(socket.receive_text())
        assert refused["event"] == "refused"
        assert "not shared" in refused["error"]
        assert any(r.action is AuditAction.REFUSAL for r in room.writer.audited)

        room.incident(IncidentEventKind.OPENED)
        room.incident(IncidentEventKind.CAMERA_GRANTED, "tc1")
        room.grant("tc1", "transit")
        socket.send_text(json.dumps({"watch": "tc1"}))
        header, _ = _frame(socket.receive_bytes())
        assert header["camera_id"] == "tc1"

        room.incident(IncidentEventKind.CLOSED)
        room.revoke_all()
        ended = json.loads(socket.receive_text())
        assert ended == {"camera_id": "tc1", "event": "ended", "reason": "no longer shared"}
    assert _phases(room, "tc1")[0] == "start"


def test_a_socket_from_another_site_is_refused(client: TestClient) -> None:
    _sign_in(client)
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/api/live", headers={"origin": "https://evil.example"}),
    ):
        pass

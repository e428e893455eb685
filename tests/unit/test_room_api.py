"""The room's HTTP edge without Kafka: sign-in, sessions, CSRF, errors as JSON (never a
traceback, never data), security headers, the OpenAPI document and the docs page, through
FastAPI's TestClient on the app `vigie room serve` builds (with a test router standing for the
domain routes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from consumers.room import users as store
from consumers.room.app import build_app
from consumers.room.auth import LocalAuthenticator, Role, User
from consumers.room.deps import CurrentUser, Officer, require_role
from consumers.room.ratelimit import LoginLimiter
from consumers.room.security import CONTENT_SECURITY_POLICY
from consumers.room.sessions import SessionStore

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class Move(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


def _domain_router() -> APIRouter:
    """What the lead's routers look like: protected by the dependencies, nothing about CSRF."""
    router = APIRouter(prefix="/api/test")

    @router.post("/incidents")
    def open_incident(move: Move, user: Officer) -> dict[str, str]:
        return {"by": user.name, "operator": user.operator}

    @router.get("/cameras")
    def cameras(user: CurrentUser) -> dict[str, str]:
        return {"operator": user.operator}

    @router.post("/hold")
    def hold(user: Annotated[User, Depends(require_role(Role.SUPERVISOR, Role.AUDITOR))]) -> None:
        pass

    @router.get("/boom")
    def boom(user: CurrentUser) -> None:
        raise RuntimeError(f"secret detail of {user.name} in /srv/vigie/internal.py")

    return router


@pytest.fixture(scope="module")
def password_hash() -> str:
    return store.hash_password(PASSWORD)


class Room:
    def __init__(self, tmp_path: Path, password_hash: str, *, secure: bool = False) -> None:
        self.users_file = store.users_path(tmp_path)
        users: dict[str, store.UserRecord] = {}
        for name, roles in (("alice", ["officer", "viewer"]), ("vera", ["viewer"])):
            users = store.add_user(
                users,
                name=name,
                operator="stib",
                roles=roles,
                password_hash=password_hash,
                operators=["stib"],
                now=NOW,
            )
        users = store.add_user(
            users,
            name="dave",
            operator="stib",
            roles=["viewer"],
            password_hash=password_hash,
            operators=["stib"],
            now=NOW,
        )
        self.users = store.disable_user(users, "dave", NOW)
        store.save_users(self.users_file, self.users)
        self.clock = Clock()
        self.sessions = SessionStore(clock=self.clock)
        self.app = build_app(
            authenticator=LocalAuthenticator(self.users_file),
            sessions=self.sessions,
            routers=[_domain_router()],
            secure_cookies=secure,
            limiter=LoginLimiter(clock=self.clock),
        )
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def login(
        self, user: str = "alice", password: str = PASSWORD, **extra: object
    ) -> dict[str, object]:
        response = self.client.post(
            "/api/session", json={"user": user, "password": password, **extra}
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
def room(tmp_path: Path, password_hash: str) -> Iterator[Room]:
    r = Room(tmp_path, password_hash)
    with r.client:
        yield r


def test_without_a_session_every_protected_route_is_401(room: Room) -> None:
    for method, path in (
        ("GET", "/api/me"),
        ("GET", "/api/test/cameras"),
        ("DELETE", "/api/session"),
    ):
        response = room.client.request(method, path)
        assert response.status_code == 401, path
        assert response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"
    bad = room.client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie(room: Room) -> None:
    response = room.client.post("/api/session", json={"user": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "alice"
    assert body["operator"] == "stib"
    assert body["roles"] == ["officer", "viewer"]
    assert body["csrf_token"]
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    assert "token" not in body, "a browser never sees its session token"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("vigie_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age="):
        assert attribute.lower() in cookie.lower()
    assert "secure" not in cookie.lower()
    me = room.client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_the_cookie_is_secure_when_served_over_tls(tmp_path: Path, password_hash: str) -> None:
    room = Room(tmp_path, password_hash, secure=True)
    response = room.client.post("/api/session", json={"user": "alice", "password": PASSWORD})
    assert "; secure" in response.headers["set-cookie"].lower()


def test_a_wrong_password_an_unknown_user_and_a_disabled_user_get_the_same_401(room: Room) -> None:
    answers = [
        room.client.post("/api/session", json={"user": user, "password": password})
        for user, password in (
            ("alice", "wrong password!"),
            ("nobody", PASSWORD),
            ("dave", PASSWORD),
        )
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.json()["error"] for a in answers}) == 1
    assert all("set-cookie" not in a.headers for a in answers)


def test_too_many_failures_are_429_with_retry_after(room: Room) -> None:
    for _ in range(5):
        wrong = room.client.post(
            "/api/session", json={"user": "alice", "password": "wrong password"}
        )
        assert wrong.status_code == 401
    limited = room.client.post("/api/session", json={"user": "alice", "password": PASSWORD})
    assert limited.status_code == 429, "even the right password waits"
    assert 0 < int(limited.headers["retry-after"]) <= 300
    other = room.client.post("/api/session", json={"user": "vera", "password": PASSWORD})
    assert other.status_code == 429, "the address is limited too"
    room.clock.now += timedelta(minutes=5)
    assert (
        room.client.post("/api/session", json={"user": "alice", "password": PASSWORD}).status_code
        == 200
    )


def test_cookie_requests_that_change_state_need_the_csrf_header(room: Room) -> None:
    session = room.login()
    move = {"latitude": 50.85, "longitude": 4.35}
    refused = room.client.post("/api/test/incidents", json=move)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]
    wrong = room.client.post("/api/test/incidents", json=move, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    accepted = room.client.post(
        "/api/test/incidents", json=move, headers={"X-CSRF-Token": str(session["csrf_token"])}
    )
    assert accepted.status_code == 200
    assert accepted.json() == {"by": "alice", "operator": "stib"}
    assert room.client.get("/api/test/cameras").status_code == 200, "reading needs none"
    # Logout is a state change too.
    assert room.client.delete("/api/session").status_code == 403
    out = room.client.delete("/api/session", headers={"X-CSRF-Token": str(session["csrf_token"])})
    assert out.status_code == 204
    assert room.client.get("/api/me").status_code == 401


def test_a_bearer_token_needs_no_csrf_header(room: Room) -> None:
    session = room.login(bearer=True)
    token = str(session["token"])
    assert token
    bare = TestClient(room.app)  # no cookie jar shared with a browser
    auth = {"Authorization": f"Bearer {token}"}
    response = bare.post("/api/test/incidents", json={"latitude": 1, "longitude": 2}, headers=auth)
    assert response.status_code == 200
    assert bare.get("/api/me", headers=auth).json()["user"] == "alice"
    assert bare.delete("/api/session", headers=auth).status_code == 204
    assert bare.get("/api/me", headers=auth).status_code == 401


def test_a_missing_role_is_403(room: Room) -> None:
    session = room.login("vera", bearer=True)
    auth = {"Authorization": f"Bearer {session['token']}"}
    response = room.client.post(
        "/api/test/incidents", json={"latitude": 1, "longitude": 2}, headers=auth
    )
    assert response.status_code == 403
    assert response.json() == {"error": "this needs the officer role"}
    hold = room.client.post("/api/test/hold", headers=auth)
    assert hold.json() == {"error": "this needs the supervisor or auditor role"}


def test_an_invalid_body_is_422_naming_the_field_without_echoing_it(room: Room) -> None:
    missing = room.client.post("/api/session", json={"user": "alice"})
    assert missing.status_code == 422
    assert "password" in missing.json()["error"]
    session = room.login(bearer=True)
    auth = {"Authorization": f"Bearer {session['token']}"}
    bad = room.client.post(
        "/api/test/incidents", json={"latitude": 123.456, "longitude": 2}, headers=auth
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert "body.latitude" in error
    assert "123.456" not in error
    extra = room.client.post(
        "/api/session", json={"user": "alice", "password": "x" * 20, "admin": True}
    )
    assert "admin" in extra.json()["error"]
    assert "x" * 20 not in extra.text
    not_json = room.client.post(
        "/api/session", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert set(not_json.json()) == {"error"}


def test_a_crash_is_500_internal_error_with_no_traceback(
    room: Room, caplog: pytest.LogCaptureFixture
) -> None:
    session = room.login(bearer=True)
    response = room.client.get(
        "/api/test/boom", headers={"Authorization": f"Bearer {session['token']}"}
    )
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "secret detail of alice" in caplog.text, "the traceback is in the server's log"


def test_a_disabled_user_s_open_session_stops_working(room: Room) -> None:
    session = room.login(bearer=True)
    auth = {"Authorization": f"Bearer {session['token']}"}
    assert room.client.get("/api/me", headers=auth).status_code == 200
    store.save_users(room.users_file, store.disable_user(room.users, "alice", NOW))
    assert room.client.get("/api/me", headers=auth).status_code == 401


def test_a_password_change_ends_the_open_sessions(room: Room, password_hash: str) -> None:
    session = room.login(bearer=True)
    auth = {"Authorization": f"Bearer {session['token']}"}
    changed = store.change_password(room.users, "alice", password_hash, datetime.now(UTC))
    store.save_users(room.users_file, changed)
    assert room.client.get("/api/me", headers=auth).status_code == 401
    assert room.login(bearer=True)["token"], "a new sign-in works"


def test_an_idle_session_expires(room: Room) -> None:
    room.login()
    room.clock.now += timedelta(minutes=31)
    assert room.client.get("/api/me").status_code == 401


def test_security_headers_on_every_response(room: Room) -> None:
    for path in ("/api/me", "/openapi.json", "/docs", "/nowhere"):
        headers = room.client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert room.client.get("/api/me").headers["cache-control"] == "no-store"
    assert room.client.get("/nowhere").json() == {"error": "Not Found"}


def test_the_openapi_document(room: Room) -> None:
    document = room.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/session", "/api/me", "/api/test/incidents"} <= set(document["paths"])
    assert "HTTPBearer" in document["components"]["securitySchemes"]


EXTERNAL_URL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost|testserver)[\w.-]+""")


def test_the_docs_page_is_served_here_with_no_external_url(room: Room) -> None:
    page = room.client.get("/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text, "no inline script: the CSP forbids it"
    assert not EXTERNAL_URL.search(page.text), page.text
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert scripts
    for asset in (*scripts, *styles):
        assert asset.startswith("/"), asset
        assert room.client.get(asset).status_code == 200, asset
    init = room.client.get("/docs/init.js").text
    assert "/openapi.json" in init
    assert not EXTERNAL_URL.search(init)


def test_a_cross_site_form_cannot_sign_in(room: Room) -> None:
    """A form of another site can post text/plain without a preflight: it is not JSON here."""
    body = b'{"user": "alice", "password": "correct horse battery"}'
    response = room.client.post(
        "/api/session", content=body, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert "set-cookie" not in response.headers

"""What the room's routers depend on: the signed-in user and its roles.

    from consumers.room.deps import CurrentUser, Officer, require_role

    @router.get("/api/incidents")
    def incidents(user: CurrentUser) -> ...: ...        # 401 without a valid session

    @router.post("/api/incidents")
    def open_incident(body: OpenIncident, user: Officer) -> ...: ...   # 403 without the role

`Viewer`, `Officer`, `Supervisor`, `Auditor` are `Annotated[User, Depends(require_role(...))]`;
`require_role(Role.A, Role.B)` accepts any of several roles.

A request is signed in by the `vigie_session` cookie (browsers) or `Authorization: Bearer
<token>` (the CLI); the bearer header wins when both come. CSRF is not checked here: the app's
middleware (`consumers.room.security`) checks it on every state-changing request signed in by
cookie, whatever router serves it. Errors are JSON `{"error": "..."}`; raise
`fastapi.HTTPException(403, "...")` for another operator's camera, incident or archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, NamedTuple

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from consumers.room.auth import Authenticator, Role, User
from consumers.room.ratelimit import LoginLimiter
from consumers.room.sessions import Session, SessionStore

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auditor",
    "Credential",
    "CurrentSession",
    "CurrentUser",
    "Officer",
    "RoomContext",
    "SignedIn",
    "Supervisor",
    "Viewer",
    "credential",
    "current_session",
    "current_user",
    "require_role",
    "resolve_session",
    "room_context",
]

SESSION_COOKIE = "vigie_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class RoomContext:
    """What `build_app` keeps on `app.state.room` for the dependencies."""

    authenticator: Authenticator
    sessions: SessionStore
    limiter: LoginLimiter
    secure_cookies: bool


def room_context(request: Request) -> RoomContext:
    context: RoomContext = request.app.state.room
    return context


class Credential(NamedTuple):
    token: str
    by_cookie: bool
    """A cookie is an ambient credential (the browser sends it by itself): CSRF applies."""


def credential(authorization: str | None, cookie: str | None) -> Credential | None:
    """The session token a request presents: a bearer header first, else the cookie."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return Credential(token.strip(), by_cookie=False)
    if cookie:
        return Credential(cookie, by_cookie=True)
    return None


# Declared for the OpenAPI document (the docs' "Authorize" button); read by `credential`.
_bearer = HTTPBearer(auto_error=False, description="the token `POST /api/session` returned")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class SignedIn:
    token: str
    session: Session
    user: User


def current_session(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> SignedIn:
    """The live session of the request and its user as it is now (401 otherwise)."""
    if bearer is not None:
        found: Credential | None = Credential(bearer.credentials, by_cookie=False)
    else:
        found = credential(None, cookie)
    return resolve_session(room_context(request), found)


def resolve_session(context: RoomContext, found: Credential | None) -> SignedIn:
    """The live session `found` presents and its user as it is now; 401 otherwise (also for
    routes that cannot take `current_session`, such as a WebSocket)."""
    if found is None:
        raise _unauthorized("not signed in: POST /api/session first")
    session = context.sessions.get(found.token)
    if session is None:
        raise _unauthorized("session expired or unknown: sign in again")
    user = context.authenticator.lookup(session.user)
    if user is None:
        context.sessions.revoke_user(session.user)
        raise _unauthorized("session ended: the user was disabled")
    if user.sessions_since is not None and session.created < user.sessions_since:
        context.sessions.revoke(found.token)
        raise _unauthorized("session ended: the password changed, sign in again")
    return SignedIn(found.token, session, user)


CurrentSession = Annotated[SignedIn, Depends(current_session)]


def current_user(signed_in: CurrentSession) -> User:
    """The signed-in user (401 JSON without a valid session)."""
    return signed_in.user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[[Request, User], User]:
    """A dependency: the signed-in user if it holds one of `roles` (403 JSON otherwise)."""
    if not roles:
        raise ValueError("require_role needs at least one role")

    def check(request: Request, user: CurrentUser) -> User:
        if not any(user.has(r) for r in roles):
            wanted = " or ".join(r.value for r in roles)
            # Who was refused, for the service's audit of refusals (consumers.room.run).
            request.state.refused_user = user
            raise HTTPException(403, f"this needs the {wanted} role")
        return user

    return check


# One alias per role, for route signatures (`def hold(user: Supervisor) -> ...`).
Viewer = Annotated[User, Depends(require_role(Role.VIEWER))]
Officer = Annotated[User, Depends(require_role(Role.OFFICER))]
Supervisor = Annotated[User, Depends(require_role(Role.SUPERVISOR))]
Auditor = Annotated[User, Depends(require_role(Role.AUDITOR))]

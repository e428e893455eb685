"""The incident room's web application: sign-in, sessions, security and errors, around the
domain routers given to `build_app`.

    POST   /api/session   sign in: {user, password[, bearer]} -> the session (cookie or token)
    DELETE /api/session   sign out
    GET    /api/me        the signed-in user, its roles, its CSRF token
    GET    /openapi.json  the OpenAPI 3 document;  GET /docs  Swagger UI on it (served here)

Every error is JSON `{"error": "..."}`: 401 without a session, 403 for a missing role, a
missing CSRF header or another operator's resource, 422 naming the invalid field, 429 with
Retry-After after too many failed sign-ins, 500 "internal error" (the traceback goes to the
server's log only).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Lifespan

from consumers.room.auth import Authenticator, Role
from consumers.room.deps import (
    SESSION_COOKIE,
    CurrentSession,
    RoomContext,
    room_context,
)
from consumers.room.page import LEAFLET_DIR, MapSettings, install_page
from consumers.room.ratelimit import LoginLimiter, attempt_keys
from consumers.room.security import (
    SECURITY_HEADERS,
    CsrfMiddleware,
    SecurityHeadersMiddleware,
    content_security_policy,
)
from consumers.room.sessions import Session, SessionStore
from consumers.room.users import MAX_PASSWORD_LENGTH, USER_NAME
from runtime.connection import REPO_ROOT

__all__ = ["SWAGGER_DIR", "build_app"]

logger = logging.getLogger(__name__)

SWAGGER_DIR = REPO_ROOT / "web" / "node_modules" / "swagger-ui-dist"
"""Swagger UI's files as `npm ci` installed them in web/ (infra/local/bootstrap.sh)."""


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    user: Annotated[str, Field(pattern=USER_NAME.pattern, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    bearer: bool = False
    """True for a client that is not a browser (the CLI): the token comes in the answer, as
    `token`, and no cookie is set. A browser keeps it in an HttpOnly cookie instead, out of
    reach of any script."""


class SessionInfo(BaseModel):
    user: str
    operator: str
    roles: list[Role]
    csrf_token: str
    """Send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE signed in by cookie."""
    expires_at: datetime
    """When the session ends without further requests (idle timeout or absolute lifetime)."""
    token: str | None = None
    """The bearer token (`Authorization: Bearer <token>`), only when asked with `bearer`."""


class ErrorBody(BaseModel):
    error: str


# What the error handlers answer, in the OpenAPI document of every route (instead of FastAPI's
# default 422 body, which this service never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "not signed in, or the session ended"},
    403: {"model": ErrorBody, "description": "refused: role, CSRF token, another operator"},
    422: {"model": ErrorBody, "description": "invalid request: the message names the field"},
}


def _info(session: Session, token: str | None = None) -> SessionInfo:
    return SessionInfo(
        user=session.user,
        operator=session.operator,
        roles=sorted(session.roles),
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
        token=token,
    )


def _session_router() -> APIRouter:
    router = APIRouter(prefix="/api", tags=["session"])

    @router.post(
        "/session",
        responses={429: {"model": ErrorBody, "description": "too many failed sign-ins"}},
        response_model_exclude_none=True,
    )
    def login(body: Login, request: Request, response: Response) -> SessionInfo:
        """Sign in with a user name and password."""
        # A plain `def`: FastAPI runs it in a thread, so the argon2 check (tens of ms, by
        # design) does not hold up other requests.
        context = room_context(request)
        address = request.client.host if request.client else "unknown"
        keys = attempt_keys(body.user, address)
        wait, began = context.limiter.begin(keys)
        if wait is not None:
            logger.warning(
                "room sign-in of %s from %s refused: too many failures", body.user, address
            )
            raise HTTPException(
                429,
                "too many failed sign-ins: try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait.total_seconds())))},
            )
        user = context.authenticator.authenticate(body.user, body.password)
        context.limiter.settle(keys, began, succeeded=user is not None)
        if user is None:
            logger.warning("room sign-in of %s from %s failed", body.user, address)
            raise HTTPException(401, "wrong user name or password")
        token, session = context.sessions.create(
            user=user.name, operator=user.operator, roles=user.roles
        )
        logger.info("room sign-in of %s (%s) from %s", user.name, user.operator, address)
        if body.bearer:
            return _info(session, token)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(context.sessions.lifetime.total_seconds()),
            path="/",
            secure=context.secure_cookies,
            httponly=True,
            samesite="strict",
        )
        return _info(session)

    @router.delete("/session", status_code=204)
    def logout(signed_in: CurrentSession, request: Request) -> Response:
        """Sign out: the session ends now."""
        context = room_context(request)
        context.sessions.revoke(signed_in.token)
        logger.info("room sign-out of %s", signed_in.user.name)
        response = Response(status_code=204)
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=context.secure_cookies,
            httponly=True,
            samesite="strict",
        )
        return response

    @router.get("/me", response_model_exclude_none=True)
    def me(signed_in: CurrentSession) -> SessionInfo:
        """The signed-in user, its operator and roles, and the session's CSRF token."""
        user = signed_in.user
        info = _info(signed_in.session)
        return info.model_copy(
            update={"user": user.name, "operator": user.operator, "roles": sorted(user.roles)}
        )

    return router


def _field(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _install_error_handlers(app: FastAPI) -> None:
    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Field names and what is wrong with them; never the rejected value (it may be a
        # password).
        problems = "; ".join(f"{_field(e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the other middlewares (Starlette's outermost ServerErrorMiddleware):
        # the security headers are set here too.
        logger.error("room: %s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"error": "internal error"}, status_code=500, headers=dict(SECURITY_HEADERS)
        )

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crash)


def _install_docs(app: FastAPI, swagger_dir: Path | None) -> None:
    static = resources.files("consumers.room") / "static"
    if swagger_dir is None or not (swagger_dir / "swagger-ui-bundle.js").exists():
        logger.warning(
            "room: Swagger UI not installed in %s (run `make bootstrap`): /docs is off, "
            "/openapi.json is served",
            swagger_dir,
        )
        return
    app.mount("/docs/assets", StaticFiles(directory=swagger_dir), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse((static / "docs.html").read_text())

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(
            (static / "docs-init.js").read_text(), media_type="text/javascript; charset=utf-8"
        )


def build_app(
    *,
    authenticator: Authenticator,
    sessions: SessionStore,
    routers: Sequence[APIRouter],
    secure_cookies: bool,
    limiter: LoginLimiter | None = None,
    swagger_dir: Path | None = SWAGGER_DIR,
    lifespan: Lifespan[FastAPI] | None = None,
    map_settings: MapSettings | None = None,
    leaflet_dir: Path | None = LEAFLET_DIR,
) -> FastAPI:
    """The room service around `routers` (the domain routes: incidents, cameras, archive).

    `secure_cookies`: the session cookie only travels over HTTPS (set it when serving TLS).
    `lifespan`: start and stop what the routers need (Kafka clients...) with the server.
    `map_settings`: the page's map (a tile server, if the deployment has one; none by default).
    """
    map_settings = map_settings or MapSettings()
    app = FastAPI(
        title="Vigie incident room",
        version="1",
        summary="Incidents, live and shared cameras, evidence and audit, per operator and role.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.room = RoomContext(
        authenticator=authenticator,
        sessions=sessions,
        limiter=limiter or LoginLimiter(),
        secure_cookies=secure_cookies,
    )
    _install_error_handlers(app)
    app.include_router(_session_router(), responses=ERROR_RESPONSES)
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    _install_docs(app, swagger_dir)
    install_page(app, map_settings, leaflet_dir)
    # The last added runs first: headers wrap everything, CSRF is checked before any route.
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware, policy=content_security_policy(map_settings.img_origins())
    )
    return app

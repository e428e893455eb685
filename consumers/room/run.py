"""Run the incident room: one process for all operators (`vigie room serve`).

`domain_routers` is where the domain routes (incidents, cameras, live frames, archive) join
the service; `make_app` wires them with the local users of the state folder.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from consumers.room.api_archive import archive_router
from consumers.room.api_audit import audit_router
from consumers.room.api_cameras import cameras_router
from consumers.room.api_export import export_router
from consumers.room.api_incidents import incidents_router
from consumers.room.api_live import live_router
from consumers.room.api_replay import replay_router
from consumers.room.app import build_app
from consumers.room.auditing import record_refusal
from consumers.room.auth import LocalAuthenticator
from consumers.room.page import map_settings_from_env
from consumers.room.room import Room
from consumers.room.sessions import SessionStore
from consumers.room.users import users_path
from consumers.room.writer import RoomUnavailable
from runtime.connection import Connection
from runtime.connection import load as load_connection
from schemas.config import VigieConfig
from schemas.errors import VigieError

__all__ = ["ServerTls", "domain_routers", "make_app", "serve"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerTls:
    """The room's certificate and key (PEM), signed by the stack's CA."""

    cert_file: Path
    key_file: Path


def domain_routers(room: Room) -> list[APIRouter]:
    """The domain routes of the room. Each protects its routes with `consumers.room.deps`
    (`CurrentUser`, roles); CSRF and the security headers apply without anything to add."""
    return [
        incidents_router(room),
        cameras_router(room),
        live_router(room),
        archive_router(room),
        replay_router(room),
        export_router(room),
        audit_router(room),
    ]


def make_app(
    config: VigieConfig,
    state_dir: Path,
    *,
    secure_cookies: bool,
    connection: Connection | None = None,
) -> FastAPI:
    """The room for `config`'s operators, reading Kafka and MinIO at `connection` (default:
    the stack of the state folder) from the moment the server starts."""
    room = Room(config, connection or load_connection(), state_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await room.start()
        try:
            yield
        finally:
            await room.stop()

    app = build_app(
        authenticator=LocalAuthenticator(users_path(state_dir)),
        sessions=SessionStore(),
        routers=domain_routers(room),
        secure_cookies=secure_cookies,
        lifespan=lifespan,
        map_settings=map_settings_from_env(),
    )

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=503)

    app.add_exception_handler(RoomUnavailable, unavailable)
    # Anything else Vigie names (no credentials yet, a configuration it cannot serve): the
    # service cannot do it now, said in one line, never a traceback.
    app.add_exception_handler(VigieError, unavailable)
    answer_http_error = app.exception_handlers[StarletteHTTPException]

    async def refused(request: Request, exc: Exception) -> Response:
        """A role refusal is audited like every other (the domain routes audit theirs with
        what they concern, `api_cameras.refuse`)."""
        user = getattr(request.state, "refused_user", None)
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 403 and user:
            request_line = f"{request.method} {request.url.path}"
            await record_refusal(room, user, str(exc.detail), request=request_line)
        answered = answer_http_error(request, exc)
        return await answered if inspect.isawaitable(answered) else answered

    app.add_exception_handler(StarletteHTTPException, refused)
    return app


def serve(
    config: VigieConfig, state_dir: Path, *, host: str, port: int, tls: ServerTls | None
) -> int:
    """Serve until SIGINT or SIGTERM (uvicorn's own handlers stop it cleanly)."""
    app = make_app(config, state_dir, secure_cookies=tls is not None)
    scheme = "https" if tls else "http"
    logger.info("incident room on %s://%s:%d/ (API docs at /docs)", scheme, host, port)
    uvicorn.run(
        app,
        host=host,
        port=port,
        # One process: sessions and the sign-in rate limits live in its memory.
        workers=1,
        # The client address counts sign-in failures: never take it from a header a client
        # on this machine could write (X-Forwarded-For).
        proxy_headers=False,
        server_header=False,
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None,
        log_config=None,  # the `vigie` command's logging configuration
    )
    return 0

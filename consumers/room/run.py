"""Run the incident room: one process for all operators (`vigie room serve`).

`domain_routers` is where the domain routes (incidents, cameras, live frames, archive) join
the service; `make_app` wires them with the local users of the state folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI

from consumers.room.app import build_app
from consumers.room.auth import LocalAuthenticator
from consumers.room.sessions import SessionStore
from consumers.room.users import users_path
from schemas.config import VigieConfig

__all__ = ["ServerTls", "domain_routers", "make_app", "serve"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerTls:
    """The room's certificate and key (PEM), signed by the stack's CA."""

    cert_file: Path
    key_file: Path


def domain_routers(config: VigieConfig, state_dir: Path) -> list[APIRouter]:
    """The domain routes of the room; none yet (incidents, cameras, archive come here).

    Each router protects its routes with `consumers.room.deps` (`CurrentUser`,
    `require_role`); CSRF and the security headers apply to them without anything to add."""
    del config, state_dir
    return []


def make_app(config: VigieConfig, state_dir: Path, *, secure_cookies: bool) -> FastAPI:
    return build_app(
        authenticator=LocalAuthenticator(users_path(state_dir)),
        sessions=SessionStore(),
        routers=domain_routers(config, state_dir),
        secure_cookies=secure_cookies,
    )


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

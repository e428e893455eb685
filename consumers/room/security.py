"""ASGI middlewares of the room that apply to every route, whoever wrote it.

`CsrfMiddleware`: a state-changing request (anything but GET, HEAD, OPTIONS) signed in by the
session cookie must carry `X-CSRF-Token` equal to its session's CSRF token, else 403. Requests
signed in by a bearer header need none: no browser attaches that header by itself. Login
(`POST /api/session`) is exempt: it is signed in by a password, not by the cookie. A WebSocket
signed in by cookie must come from the service's own origin.

`SecurityHeadersMiddleware`: the Content-Security-Policy and its companions on every response;
`Cache-Control: no-store` on the API.

Both are plain ASGI (not Starlette's BaseHTTPMiddleware) so that streaming responses (live
frames) pass through untouched.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consumers.room.deps import CSRF_HEADER, SESSION_COOKIE, RoomContext, credential

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SECURITY_HEADERS",
    "CsrfMiddleware",
    "SecurityHeadersMiddleware",
    "content_security_policy",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def content_security_policy(img_origins: Iterable[str] = ()) -> str:
    """The policy, letting images also come from `img_origins` (a map tile server a deployment
    configured, e.g. ``https://tiles.example.org``): nothing else ever leaves 'self'."""
    extra = "".join(f" {origin}" for origin in img_origins)
    return CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' blob: data:", f"img-src 'self' blob: data:{extra}"
    )


SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN = ("POST", "/api/session")


def _cookie(headers: Headers, name: str) -> str | None:
    # The same parser as the route's cookie (starlette's Request.cookies).
    return cookie_parser(headers.get("cookie", "")).get(name)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CsrfMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        found = credential(headers.get("authorization"), _cookie(headers, SESSION_COOKIE))
        if found is None or not found.by_cookie:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc != headers.get("host"):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method in SAFE_METHODS or (method, scope["path"]) == LOGIN:
            await self.app(scope, receive, send)
            return
        context: RoomContext = scope["app"].state.room
        session = context.sessions.get(found.token, touch=False)
        if session is None:
            # No live session: the route's `current_user` answers 401 (or the route is public).
            await self.app(scope, receive, send)
            return
        sent = headers.get(CSRF_HEADER.lower(), "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            await _refuse(send, 403, f"missing or wrong {CSRF_HEADER} header")
            return
        await self.app(scope, receive, send)


def add_headers(message: Message, extra: Iterable[tuple[str, str]]) -> None:
    headers = MutableHeaders(scope=message)
    for key, value in extra:
        if key not in headers:
            headers[key] = value


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.app = app
        self.headers = (("Content-Security-Policy", policy), *SECURITY_HEADERS[1:])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(self.headers)
        if scope["path"].startswith("/api/") or scope["path"] == "/api":
            extra.append(("Cache-Control", "no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(message, extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)

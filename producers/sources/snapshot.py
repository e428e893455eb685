"""An HTTP JPEG snapshot camera: one GET per image (`http://camera/snapshot.jpg`).

Credentials come from the URL's userinfo (`http://user:${CAM_PASSWORD}@host/...` in the
configuration, resolved from the environment); Basic and Digest challenges are both answered.
Every failure becomes a SourceError whose reason names the camera without its credentials.

This module also holds the HTTP plumbing that the MJPEG source shares.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from typing import cast
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import cv2
import numpy as np

from producers.sources.base import Image, SourceError

USER_AGENT = "vigie-camera-adapter/0.1"
_HTTP_REASONS = {
    401: "401 Unauthorized: wrong or missing credentials",
    403: "403 Forbidden: these credentials may not read this camera",
    404: "404 Not Found: no image at this path (check the camera's URL)",
}


def display_url(url: str) -> str:
    """`url` as safe to show in events and logs: no userinfo, no query (either may hold a
    password or token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def network_reason(exc: BaseException, timeout_s: float) -> str:
    """A human reason for a failed connection or read (without the URL)."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, socket.gaierror):
        return "unknown host (DNS lookup failed)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s (camera unreachable or stalled)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionError):  # including http.client.RemoteDisconnected
        return "connection lost (the camera closed or reset it)"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host unreachable (no route to it)"
    if isinstance(exc, http.client.IncompleteRead):
        return "connection lost in the middle of a response"
    if isinstance(exc, http.client.HTTPException):
        return f"invalid HTTP answer ({type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


class HttpCamera:
    """An HTTP camera endpoint: its credential-free URL and an opener that answers its Basic or
    Digest challenges with the URL's userinfo."""

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"{display_url(url)}: not an http(s):// camera URL")
        netloc = parts.netloc.rpartition("@")[2]
        self.url = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, ""))
        self.where = display_url(url)
        self.timeout_s = timeout_s
        handlers: list[urllib.request.BaseHandler] = []
        if parts.username is not None:
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(
                None, self.url, unquote(parts.username), unquote(parts.password or "")
            )
            handlers += [
                urllib.request.HTTPBasicAuthHandler(passwords),
                urllib.request.HTTPDigestAuthHandler(passwords),
            ]
        self._opener = urllib.request.build_opener(*handlers)

    def get(self) -> http.client.HTTPResponse:
        """GET the URL; a SourceError with a clear reason unless the answer is 2xx."""
        request = urllib.request.Request(self.url, headers={"User-Agent": USER_AGENT})
        try:
            response = self._opener.open(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            reason = _HTTP_REASONS.get(exc.code, f"HTTP {exc.code} {exc.reason}")
            raise SourceError(f"{self.where}: {reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise SourceError(f"{self.where}: {network_reason(exc, self.timeout_s)}") from exc
        return cast(http.client.HTTPResponse, response)


def decode_jpeg(data: bytes, where: str, content_type: str = "image/jpeg") -> Image:
    """A BGR image from JPEG bytes; SourceError if they do not decode."""
    image = None
    if data:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(
            f"{where}: corrupt or non-JPEG image ({len(data)} bytes of {content_type})"
        )
    return cast(Image, image)


class SnapshotSource:
    """FrameSource polling a JPEG snapshot URL: every read() is one GET (the camera's current
    image), so a slow profile never builds a backlog.

    url: http(s)://[user:password@]host[:port]/path[?query]
    timeout_s: limit for connecting and for each read of the answer.
    max_bytes: larger answers are refused (a misconfigured URL serving a video, say).
    """

    def __init__(self, url: str, timeout_s: float = 5.0, max_bytes: int = 20_000_000) -> None:
        self._camera = HttpCamera(url, timeout_s)
        self._max_bytes = max_bytes
        self._open = False

    @property
    def where(self) -> str:
        return self._camera.where

    def open(self) -> None:
        """Fetches one image, so that a wrong URL or credentials show at once."""
        self._open = True
        self._fetch()

    def read(self, now: datetime) -> Image:
        if not self._open:
            raise SourceError(f"{self.where}: source not open")
        return self._fetch()

    def close(self) -> None:
        self._open = False

    def _fetch(self) -> Image:
        with self._camera.get() as response:
            kind = response.headers.get_content_type()
            try:
                data = response.read(self._max_bytes + 1)
            except (OSError, http.client.HTTPException) as exc:
                reason = network_reason(exc, self._camera.timeout_s)
                raise SourceError(f"{self.where}: {reason}") from exc
        if len(data) > self._max_bytes:
            raise SourceError(f"{self.where}: image larger than {self._max_bytes} bytes")
        return decode_jpeg(data, self.where, kind)

"""What the network camera sources share: URLs safe to show, human reasons for network
failures, an HTTP client that answers camera auth challenges, JPEG decoding, and the newest-
frame handover between a reader thread and the adapter."""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Generic, TypeVar, cast
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import cv2
import numpy as np

from producers.sources.base import Image, SourceError

T = TypeVar("T")

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


class NewestOnly(Generic[T]):
    """Hands the newest item of a producer thread to a consumer; unread older items are dropped.

    The producer calls put() for each item and fail() once when it stops for good; the consumer
    calls take(), which waits for an item newer than the one it took last.
    """

    def __init__(self, where: str) -> None:
        self._where = where
        self._ready = threading.Condition()
        self._item: T | None = None
        self._produced = 0
        self._taken = 0
        self._error: str | None = None
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._ready:
            if self._produced > self._taken:
                self.dropped += 1
            self._item = item
            self._produced += 1
            self._ready.notify_all()

    def fail(self, reason: str) -> None:
        with self._ready:
            if self._error is None:
                self._error = reason
            self._ready.notify_all()

    def take(self, timeout_s: float) -> T:
        """The newest item not taken yet; SourceError once the producer failed (after any newer
        item is handed out) or when nothing new comes within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while self._produced == self._taken and self._error is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SourceError(f"{self._where}: no frame for {timeout_s:g} s")
                self._ready.wait(remaining)
            if self._produced > self._taken and self._item is not None:
                self._taken = self._produced
                return self._item
            raise SourceError(f"{self._where}: {self._error}")

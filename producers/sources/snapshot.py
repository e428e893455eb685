"""An HTTP JPEG snapshot camera: one GET per image (`http://camera/snapshot.jpg`).

Credentials come from the URL's userinfo (`http://user:${CAM_PASSWORD}@host/...` in the
configuration, resolved from the environment); Basic and Digest challenges are both answered.
Every failure becomes a SourceError whose reason names the camera without its credentials.

This module also holds the HTTP plumbing that the MJPEG source shares.
"""

from __future__ import annotations

import http.client
from datetime import datetime

from producers.sources.base import Image, SourceError
from producers.sources.net import HttpCamera, decode_jpeg, network_reason


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

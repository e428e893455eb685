"""An HTTP MJPEG camera: one long `multipart/x-mixed-replace` answer, one JPEG per part.

A reader thread owned by the source parses the stream as it arrives and keeps only the newest
JPEG; read() decodes a JPEG newer than the last one it returned (so a camera faster than the
profile costs no decoding for the frames dropped). Parts with a Content-Length are cut
exactly; parts without one (common on cheap cameras) and bare concatenated JPEGs
(`image/jpeg` streams) are cut by walking the JPEG's own segment structure to its EOI marker.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
from datetime import datetime

from producers.sources.base import Image, SourceError
from producers.sources.net import HttpCamera, NewestOnly, decode_jpeg, network_reason
from schemas.errors import VigieError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
_SOI = b"\xff\xd8"
_CONTENT_LENGTH = re.compile(rb"^content-length\s*:\s*(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


class MjpegFormatError(VigieError, ValueError):
    """The stream is not a well-formed MJPEG stream."""


def jpeg_end(data: bytes | bytearray, start: int = 0) -> int | None:
    """Index just past the EOI marker of the JPEG starting at `start`; None if the JPEG is not
    complete yet. Segment lengths are followed, so EOI markers of embedded thumbnails (EXIF)
    do not end the image early. Raises MjpegFormatError if the bytes are not a JPEG."""
    if len(data) - start < 2:
        return None
    if data[start : start + 2] != _SOI:
        raise MjpegFormatError("part does not start with a JPEG start-of-image marker")
    i = start + 2
    while True:
        if i + 2 > len(data):
            return None
        if data[i] != 0xFF:
            raise MjpegFormatError(f"corrupt JPEG: no marker at byte {i - start}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # EOI
            return i + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            i += 2
            continue
        if i + 4 > len(data):
            return None
        length = (data[i + 2] << 8) | data[i + 3]
        if length < 2:
            raise MjpegFormatError(f"corrupt JPEG: segment length {length} at byte {i - start}")
        i += 2 + length
        if marker != 0xDA:  # not start-of-scan
            continue
        # Entropy-coded data: runs until a marker other than stuffing (FF00) or restarts.
        while True:
            k = data.find(b"\xff", i)
            if k < 0 or k + 1 >= len(data):
                return None
            following = data[k + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                i = k + 2
            elif following == 0xFF:
                i = k + 1
            else:
                i = k
                break


class MultipartJpegParser:
    """Incremental parser of an MJPEG byte stream: feed() bytes as they arrive and get the
    complete JPEGs back.

    boundary: the multipart boundary from the Content-Type, or None for bare JPEGs back to back.
    max_part_bytes: a part larger than this is an error (a stream that lost its framing).
    """

    def __init__(self, boundary: str | None, max_part_bytes: int = 20_000_000) -> None:
        # Cameras disagree on whether the declared boundary includes the leading "--"; the
        # token without dashes matches both spellings.
        self._boundary = boundary.strip().strip('"').lstrip("-").encode() if boundary else None
        if self._boundary == b"":
            self._boundary = None
        self._max = max_part_bytes
        self._buffer = bytearray()
        self._in_body = self._boundary is None
        self._length: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        parts: list[bytes] = []
        while (part := self._next()) is not None:
            parts.append(part)
        if len(self._buffer) > self._max + 64 * 1024:
            raise MjpegFormatError(f"no end of frame within {self._max} bytes")
        return parts

    def _next(self) -> bytes | None:
        buffer = self._buffer
        if not self._in_body:
            assert self._boundary is not None
            at = buffer.find(self._boundary)
            if at < 0:
                del buffer[: max(0, len(buffer) - len(self._boundary))]
                return None
            ends = [e for e in (buffer.find(b"\r\n\r\n", at), buffer.find(b"\n\n", at)) if e >= 0]
            if not ends:
                del buffer[:at]
                return None
            headers_end = min(ends)
            headers = bytes(buffer[at:headers_end])
            blank = 4 if buffer[headers_end : headers_end + 4] == b"\r\n\r\n" else 2
            del buffer[: headers_end + blank]
            length = _CONTENT_LENGTH.search(headers)
            self._length = int(length.group(1)) if length else None
            if self._length is not None and self._length > self._max:
                raise MjpegFormatError(f"part of {self._length} bytes (limit {self._max})")
            self._in_body = True
        if self._length is not None:
            if len(buffer) < self._length:
                return None
            part = _copy(buffer, 0, self._length)
            del buffer[: self._length]
        else:
            start = buffer.find(_SOI)
            if self._boundary is not None:
                boundary_at = buffer.find(self._boundary)
                if boundary_at >= 0 and (start < 0 or boundary_at < start):
                    raise MjpegFormatError("part without Content-Length is not a JPEG")
            if start < 0:
                return None
            end = jpeg_end(buffer, start)
            if end is None:
                return None
            part = _copy(buffer, start, end)
            del buffer[:end]
        self._in_body = self._boundary is None
        self._length = None
        return part


def _copy(buffer: bytearray, start: int, end: int) -> bytes:
    """One copy of a slice (``bytes(buffer[a:b])`` copies twice); the view is released before
    the caller resizes the buffer."""
    with memoryview(buffer) as view:
        return bytes(view[start:end])


class MjpegSource:
    """FrameSource over an HTTP MJPEG stream (`multipart/x-mixed-replace`).

    url: http(s)://[user:password@]host[:port]/path[?query] (Basic or Digest credentials).
    timeout_s: limit for connecting and for each network read; a stalled stream fails then.
    frame_timeout_s: read() fails when no new frame arrives for this long.
    max_part_bytes: a larger part is treated as a broken stream.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float = 5.0,
        frame_timeout_s: float = 10.0,
        max_part_bytes: int = 20_000_000,
    ) -> None:
        self._camera = HttpCamera(url, timeout_s)
        self.where = self._camera.where
        self._frame_timeout_s = frame_timeout_s
        self._max_part_bytes = max_part_bytes
        self._frames: NewestOnly[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        """JPEGs received that nobody read since open() (the camera is faster than reads)."""
        return 0 if self._frames is None else self._frames.dropped

    def open(self) -> None:
        self.close()
        response = self._camera.get()
        content_type = response.headers.get_content_type()
        if content_type.startswith("multipart/"):
            boundary = response.headers.get_param("boundary")
            if not isinstance(boundary, str) or not boundary:
                response.close()
                raise SourceError(f"{self.where}: {content_type} answer without a boundary")
            parser = MultipartJpegParser(boundary, self._max_part_bytes)
        elif content_type == "image/jpeg":
            parser = MultipartJpegParser(None, self._max_part_bytes)
        else:
            response.close()
            raise SourceError(f"{self.where}: answer is {content_type}, not an MJPEG stream")
        frames: NewestOnly[bytes] = NewestOnly(self.where)
        self._frames = frames
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._receive,
            args=(response, parser, frames, self._stop),
            name=f"mjpeg {self.where}",
            daemon=True,
        )
        self._thread.start()

    def read(self, now: datetime) -> Image:
        if self._frames is None:
            raise SourceError(f"{self.where}: source not open")
        return decode_jpeg(self._frames.take(self._frame_timeout_s), self.where)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(self._camera.timeout_s + 2)
            if thread.is_alive():
                logger.warning("%s: reader thread did not stop", self.where)
        self._frames = None

    def _receive(
        self,
        response: http.client.HTTPResponse,
        parser: MultipartJpegParser,
        frames: NewestOnly[bytes],
        stop: threading.Event,
    ) -> None:
        """The reader thread: parse parts as they come, keep only the newest."""
        try:
            while not stop.is_set():
                chunk = response.read1(CHUNK_BYTES)
                if not chunk:
                    frames.fail("stream ended (the camera closed the connection)")
                    return
                for part in parser.feed(chunk):
                    frames.put(part)
        except MjpegFormatError as exc:
            frames.fail(f"corrupt MJPEG stream: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            frames.fail(network_reason(exc, self._camera.timeout_s))
        finally:
            response.close()

"""An RTSP camera (H.264 or H.265, whatever FFmpeg decodes) read through PyAV.

Main and sub streams: cameras publish them at different URLs, spelled differently by every
vendor (`/Streaming/Channels/101` and `/102`, `subtype=0` and `subtype=1`, `/main` and
`/sub`...). The configuration's `source` is therefore the URL of the stream the operator chose,
and `stream: main|sub` records which one it is; this adapter does not rewrite the URL. Point
`source` at the sub stream and set `stream: sub` to publish a camera's low-resolution stream.

A camera sends at its own rate (say 25 fps) while a profile may want 5 fps. A decoding thread
owned by the source reads the stream as fast as it comes (H.264/H.265 frames depend on the
previous ones, so every packet is decoded) and keeps only the newest frame; read() returns a
frame newer than the last one it returned, converting only that one to BGR. Frames nobody
asked for are dropped at the source, never queued.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime
from typing import cast
from urllib.parse import urlsplit

import av
import av.error

from producers.sources.base import Image, SourceError
from producers.sources.net import NewestOnly, display_url, network_reason
from schemas.config import StreamKind

logger = logging.getLogger(__name__)

# Consecutive undecodable packets after which the stream is declared corrupt.
MAX_BAD_PACKETS = 100


def _av_reason(exc: av.FFmpegError, timeout_s: float, elapsed_s: float) -> str:
    """A human reason for an FFmpeg failure (never its message: that holds the full URL, with
    the credentials)."""
    match exc:
        case av.error.HTTPUnauthorizedError():
            return "401 Unauthorized: wrong or missing credentials"
        case av.error.HTTPForbiddenError():
            return "403 Forbidden: these credentials may not open this stream"
        case av.error.HTTPNotFoundError():
            return "404 Not Found: no stream at this path (check the camera's URL)"
        case av.error.DecoderNotFoundError():
            return "unsupported codec: no decoder for this stream"
        case av.error.ExitError() | av.error.TimeoutError():
            return f"no answer within {timeout_s:g} s (camera unreachable or stalled)"
        case av.error.EOFError():
            return "stream ended (the camera closed the connection)"
        case av.error.InvalidDataError() if elapsed_s >= timeout_s * 0.9:
            # FFmpeg's RTSP demuxer reports its own time-out as invalid data.
            return f"no answer within {timeout_s:g} s (camera unreachable or stalled)"
        case av.error.InvalidDataError():
            return "invalid data (not an RTSP server, or a corrupt stream)"
        case OSError():
            return network_reason(exc, timeout_s)
    return exc.strerror or type(exc).__name__


def _tcp_reason(url: str, timeout_s: float) -> str | None:
    """Why a TCP connection to the camera fails, if it does (FFmpeg's own errors for an
    unreachable or unknown host are vague)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "no host in the URL"
    try:
        port = parts.port or (322 if parts.scheme == "rtsps" else 554)
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except (OSError, ValueError) as exc:
        return network_reason(exc, timeout_s)


class RtspSource:
    """FrameSource over an RTSP stream, decoded by PyAV (FFmpeg).

    url: rtsp[s]://[user:password@]host[:port]/path — the stream to read (main or sub).
    stream: which of the camera's streams `url` is, reported with the camera's events.
    transport: "tcp" (default: no loss behind NAT and firewalls) or "udp".
    open_timeout_s: limit for connecting and starting the stream.
    read_timeout_s: limit for each network read once streaming; a silent camera fails then.
    frame_timeout_s: read() fails when no new frame is decoded for this long.
    """

    def __init__(
        self,
        url: str,
        stream: StreamKind = StreamKind.MAIN,
        transport: str = "tcp",
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        frame_timeout_s: float = 10.0,
    ) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"RTSP transport must be tcp or udp, not {transport!r}")
        self.url = url
        self.stream = stream
        self.where = display_url(url)
        self._transport = transport
        self._open_timeout_s = open_timeout_s
        self._read_timeout_s = read_timeout_s
        self._frame_timeout_s = frame_timeout_s
        self._frames: NewestOnly[av.VideoFrame] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.codec: str | None = None

    @property
    def dropped(self) -> int:
        """Decoded frames that nobody read since open() (the camera is faster than reads)."""
        return 0 if self._frames is None else self._frames.dropped

    def open(self) -> None:
        self.close()
        options = {
            "rtsp_transport": self._transport,
            "timeout": str(int(self._read_timeout_s * 1_000_000)),  # socket I/O, microseconds
            "allowed_media_types": "video",
        }
        started = time.monotonic()
        try:
            container = av.open(
                self.url,
                options=options,
                timeout=(self._open_timeout_s, self._read_timeout_s),
            )
        except av.FFmpegError as exc:
            elapsed = time.monotonic() - started
            reason = _av_reason(exc, self._open_timeout_s, elapsed)
            if isinstance(exc, OSError | av.error.InvalidDataError) and not isinstance(
                exc, av.error.HTTPClientError
            ):
                reason = _tcp_reason(self.url, self._open_timeout_s) or reason
            raise SourceError(f"{self.where}: {reason}") from None
        try:
            video = container.streams.video[0]
            self.codec = video.codec_context.name
        except (IndexError, av.FFmpegError):
            container.close()
            raise SourceError(f"{self.where}: no decodable video stream") from None
        frames: NewestOnly[av.VideoFrame] = NewestOnly(self.where)
        self._frames = frames
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._decode,
            args=(container, video, frames, self._stop),
            name=f"rtsp {self.where}",
            daemon=True,
        )
        self._thread.start()
        logger.info("%s: streaming %s (%s stream)", self.where, self.codec, self.stream.value)

    def read(self, now: datetime) -> Image:
        if self._frames is None:
            raise SourceError(f"{self.where}: source not open")
        frame = self._frames.take(self._frame_timeout_s)
        return cast(Image, frame.to_ndarray(format="bgr24"))

    def close(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(self._read_timeout_s + 2)
            if thread.is_alive():
                logger.warning("%s: decoding thread did not stop", self.where)
        self._frames = None

    def _decode(
        self,
        container: av.container.InputContainer,
        video: av.VideoStream,
        frames: NewestOnly[av.VideoFrame],
        stop: threading.Event,
    ) -> None:
        """The decoding thread: every packet decoded, only the newest frame kept."""
        bad = 0
        try:
            for packet in container.demux(video):
                if stop.is_set():
                    return
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:
                    bad += 1
                    if bad >= MAX_BAD_PACKETS:
                        frames.fail(f"corrupt video: {bad} undecodable packets in a row")
                        return
                    continue
                bad = 0
                for frame in decoded:
                    if isinstance(frame, av.VideoFrame):
                        frames.put(frame)
            frames.fail("stream ended (the camera closed the connection)")
        except av.FFmpegError as exc:
            frames.fail(_av_reason(exc, self._read_timeout_s, 0.0))
        except Exception as exc:
            logger.exception("%s: decoding thread failed", self.where)
            frames.fail(f"decoding failed: {type(exc).__name__}")
        finally:
            container.close()

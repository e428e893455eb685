"""RTSP cameras, read from a real RTSP server (GStreamer's gst-rtsp-server, see tests/peers).

What a camera operator relies on: H.264 and H.265 cameras deliver images, the adapter always
hands out the newest image instead of a growing backlog, and every failure — nothing at the
address, a camera that never answers, wrong credentials, a camera that goes away — ends in a
clear reason within seconds, and the camera is read again once it comes back.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from producers.sources.base import SourceError
from producers.sources.rtsp import RtspSource
from schemas.config import StreamKind
from tests.peers.rtsp_server import RtspServer

RTSP_PORT = 18554  # and 18555 for the port that requires credentials
RESTARTABLE_PORT = 18564  # and 18565
REFUSED_PORT = 18559
SILENT_PORT = 18558
WIDTH, HEIGHT = 320, 240


def _now() -> datetime:
    return datetime.now(UTC)


def _read_until_it_fails(source: RtspSource) -> None:
    """Reads on after the camera stopped (the frames already received may come out first)."""
    for _ in range(200):
        source.read(_now())


@pytest.fixture(scope="session")
def rtsp_server() -> Iterator[RtspServer]:
    """The shared camera server; tests that stop a server use their own."""
    with RtspServer(RTSP_PORT, width=WIDTH, height=HEIGHT, fps=25) as server:
        yield server


@pytest.fixture
def restartable_server() -> Iterator[RtspServer]:
    server = RtspServer(RESTARTABLE_PORT, width=WIDTH, height=HEIGHT, fps=25)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung camera)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", SILENT_PORT))
        listener.listen(16)
        yield SILENT_PORT


def _open(url: str, read_timeout_s: float = 5.0) -> RtspSource:
    source = RtspSource(url, read_timeout_s=read_timeout_s)
    source.open()
    return source


@pytest.mark.parametrize(("path", "codec"), [("/h264", "h264"), ("/h265", "hevc")])
def test_camera_stream_decodes_to_bgr_images_of_the_served_size(
    rtsp_server: RtspServer, path: str, codec: str
) -> None:
    """An H.264 or H.265 camera gives BGR images of the camera's resolution."""
    source = _open(rtsp_server.url(path))
    try:
        assert source.codec == codec
        for _ in range(3):
            image = source.read(_now())
            assert image.dtype == np.uint8
            assert image.shape == (HEIGHT, WIDTH, 3)
            assert image.std() > 5  # a picture, not a blank frame
    finally:
        source.close()


def test_main_or_sub_stream_is_what_the_operator_configured(rtsp_server: RtspServer) -> None:
    """The source reports which of the camera's streams it reads (the URL is used as given)."""
    source = RtspSource(rtsp_server.url("/h264"), stream=StreamKind.SUB)
    assert source.stream is StreamKind.SUB
    assert RtspSource(rtsp_server.url("/h264")).stream is StreamKind.MAIN


def test_a_slow_reader_gets_the_newest_image_not_a_backlog(rtsp_server: RtspServer) -> None:
    """A 25 fps camera read at a slower rate: frames in between are dropped at the source, and
    each read returns an image newer than the previous one."""
    source = _open(rtsp_server.url("/h264"))
    try:
        first = source.read(_now())
        time.sleep(1.0)  # ~25 frames arrive meanwhile
        started = time.monotonic()
        second = source.read(_now())
        assert time.monotonic() - started < 0.2  # the newest was already there
        assert source.dropped >= 10  # ...and the ones before it were dropped, not queued
        third = source.read(_now())  # waits for the next frame instead of repeating one
        assert not np.array_equal(first, second)
        assert not np.array_equal(second, third)
    finally:
        source.close()


def test_nothing_listening_fails_fast_with_connection_refused() -> None:
    """A camera address where nothing listens: a clear reason at once, no hang."""
    source = RtspSource(f"rtsp://127.0.0.1:{REFUSED_PORT}/h264")
    started = time.monotonic()
    with pytest.raises(SourceError, match="connection refused") as failure:
        source.open()
    assert time.monotonic() - started < 5
    assert f"rtsp://127.0.0.1:{REFUSED_PORT}/h264" in str(failure.value)


def test_a_camera_that_never_answers_fails_within_the_open_timeout(silent_port: int) -> None:
    """A camera that accepts the connection and then stays silent fails within the time-out."""
    source = RtspSource(f"rtsp://127.0.0.1:{silent_port}/h264", open_timeout_s=2.0)
    started = time.monotonic()
    with pytest.raises(SourceError, match="no answer within 2 s"):
        source.open()
    assert time.monotonic() - started < 5


def test_wrong_credentials_are_reported_as_unauthorized(rtsp_server: RtspServer) -> None:
    """Wrong credentials say so (and the password never appears in the reason)."""
    source = RtspSource(rtsp_server.secure_url("/h264", "operator", "wrong-password"))
    with pytest.raises(SourceError, match=r"401 Unauthorized: wrong or missing credentials") as e:
        source.open()
    assert "wrong-password" not in str(e.value)
    assert "operator" not in str(e.value)


def test_missing_credentials_are_reported_as_unauthorized(rtsp_server: RtspServer) -> None:
    with pytest.raises(SourceError, match="401 Unauthorized"):
        RtspSource(rtsp_server.secure_url("/h264")).open()


def test_right_credentials_open_the_protected_stream(rtsp_server: RtspServer) -> None:
    source = _open(rtsp_server.secure_url("/h265", rtsp_server.user, rtsp_server.password))
    try:
        assert source.read(_now()).shape == (HEIGHT, WIDTH, 3)
    finally:
        source.close()


def test_unknown_path_is_reported_as_not_found(rtsp_server: RtspServer) -> None:
    with pytest.raises(SourceError, match="404 Not Found"):
        RtspSource(rtsp_server.url("/no-such-stream")).open()


def test_camera_going_away_while_streaming_is_an_error_then_it_is_read_again_when_back(
    restartable_server: RtspServer,
) -> None:
    """The camera stops while being read: read() fails with a reason within seconds (the
    adapter reports it offline); once the camera is back, opening again delivers images."""
    source = _open(restartable_server.url("/h264"), read_timeout_s=3.0)
    try:
        source.read(_now())
        restartable_server.stop()
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"stream ended|connection lost|no answer"):
            _read_until_it_fails(source)
        assert time.monotonic() - started < 8
        source.close()

        with pytest.raises(SourceError, match="connection refused"):
            source.open()

        restartable_server.start()
        source.open()
        assert source.read(_now()).shape == (HEIGHT, WIDTH, 3)
    finally:
        source.close()


def test_a_camera_that_freezes_mid_stream_fails_within_the_read_timeout(
    restartable_server: RtspServer,
) -> None:
    """The connection stays open but the camera stops sending: read() fails with a reason
    instead of waiting forever (FFmpeg's socket time-out and PyAV's read time-out may add up,
    hence 2 x read_timeout_s)."""
    source = _open(restartable_server.url("/h264"), read_timeout_s=2.0)
    try:
        source.read(_now())
        restartable_server.freeze()
        started = time.monotonic()
        with pytest.raises(SourceError, match="no answer within 2 s"):
            _read_until_it_fails(source)
        assert time.monotonic() - started < 6
    finally:
        restartable_server.thaw()
        source.close()

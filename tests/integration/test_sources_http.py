"""HTTP cameras — MJPEG streams and JPEG snapshots — read from a real HTTP camera server
(tests/peers/mjpeg_server.py).

What a camera operator relies on: both kinds of camera deliver images, credentials in the URL
open protected cameras, and every failure (wrong credentials, wrong path, nothing listening,
a corrupt image, a camera that goes away) is a clear reason, never a crash.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from producers.sources.base import SourceError
from producers.sources.mjpeg import MjpegSource
from producers.sources.snapshot import SnapshotSource
from tests.peers.mjpeg_server import MjpegServer

HTTP_PORT = 18580
RESTARTABLE_PORT = 18582
REFUSED_PORT = 18581
WIDTH, HEIGHT = 320, 240


def _now() -> datetime:
    return datetime.now(UTC)


def _read_until_it_fails(source: MjpegSource) -> None:
    """Reads on after the camera stopped (the frames already received may come out first)."""
    for _ in range(200):
        source.read(_now())


@pytest.fixture(scope="session")
def http_camera() -> Iterator[MjpegServer]:
    server = MjpegServer(HTTP_PORT, width=WIDTH, height=HEIGHT, fps=20)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/mjpeg", "/mjpeg-nolength", "/secure/mjpeg"])
def test_mjpeg_stream_gives_successive_images(http_camera: MjpegServer, path: str) -> None:
    """MJPEG parts, with or without Content-Length, decode to successive BGR images; Basic
    credentials from the URL open a protected stream."""
    source = MjpegSource(http_camera.url(path, http_camera.user, http_camera.password))
    source.open()
    try:
        images = [source.read(_now()) for _ in range(3)]
    finally:
        source.close()
    for image in images:
        assert image.dtype == np.uint8
        assert image.shape == (HEIGHT, WIDTH, 3)
    assert not np.array_equal(images[0], images[1])
    assert not np.array_equal(images[1], images[2])


def test_mjpeg_slow_reader_gets_the_newest_image_not_a_backlog(http_camera: MjpegServer) -> None:
    """A 20 fps stream read slowly: the images in between are dropped at the source."""
    source = MjpegSource(http_camera.url("/mjpeg"))
    source.open()
    try:
        source.read(_now())
        time.sleep(1.0)
        started = time.monotonic()
        source.read(_now())
        assert time.monotonic() - started < 0.2
        assert source.dropped >= 8
    finally:
        source.close()


def test_snapshot_polling_gives_the_current_image_at_each_read(http_camera: MjpegServer) -> None:
    source = SnapshotSource(http_camera.url("/snapshot.jpg"))
    source.open()
    try:
        first, second = source.read(_now()), source.read(_now())
    finally:
        source.close()
    assert first.shape == (HEIGHT, WIDTH, 3)
    assert not np.array_equal(first, second)


def test_snapshot_with_credentials_in_the_url(http_camera: MjpegServer) -> None:
    url = http_camera.url("/secure/snapshot.jpg", http_camera.user, http_camera.password)
    source = SnapshotSource(url)
    source.open()
    assert source.read(_now()).shape == (HEIGHT, WIDTH, 3)


@pytest.mark.parametrize("make", [MjpegSource, SnapshotSource], ids=["mjpeg", "snapshot"])
@pytest.mark.parametrize(
    ("path", "user", "password", "reason"),
    [
        ("/secure/{kind}", "operator", "wrong-password", "401 Unauthorized: wrong or missing"),
        ("/secure/{kind}", None, None, "401 Unauthorized"),
        ("/no-such-{kind}", None, None, "404 Not Found"),
    ],
    ids=["wrong-credentials", "no-credentials", "wrong-path"],
)
def test_http_errors_are_clear_reasons(
    http_camera: MjpegServer,
    make: type[MjpegSource] | type[SnapshotSource],
    path: str,
    user: str | None,
    password: str | None,
    reason: str,
) -> None:
    """401 and 404 from the camera say what is wrong, without echoing the password."""
    kind = "mjpeg" if make is MjpegSource else "snapshot.jpg"
    source = make(http_camera.url(path.format(kind=kind), user, password))
    with pytest.raises(SourceError, match=reason) as failure:
        source.open()
    assert "wrong-password" not in str(failure.value)


@pytest.mark.parametrize("make", [MjpegSource, SnapshotSource], ids=["mjpeg", "snapshot"])
def test_nothing_listening_is_connection_refused(
    make: type[MjpegSource] | type[SnapshotSource],
) -> None:
    source = make(f"http://127.0.0.1:{REFUSED_PORT}/mjpeg")
    started = time.monotonic()
    with pytest.raises(SourceError, match=f"127.0.0.1:{REFUSED_PORT}/mjpeg: connection refused"):
        source.open()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/mjpeg-corrupt", "corrupt or non-JPEG image"),
        ("/mjpeg-corrupt-nolength", "corrupt MJPEG stream: part without Content-Length"),
    ],
)
def test_corrupt_mjpeg_part_is_a_source_error(
    http_camera: MjpegServer, path: str, reason: str
) -> None:
    """A part that is not a JPEG fails the read with a reason; the process carries on."""
    source = MjpegSource(http_camera.url(path))
    source.open()
    try:
        with pytest.raises(SourceError, match=reason):
            source.read(_now())
    finally:
        source.close()


def test_corrupt_snapshot_is_a_source_error(http_camera: MjpegServer) -> None:
    source = SnapshotSource(http_camera.url("/snapshot-corrupt.jpg"))
    with pytest.raises(SourceError, match="corrupt or non-JPEG image"):
        source.open()


def test_mjpeg_camera_going_away_is_an_error_then_it_is_read_again_when_back() -> None:
    server = MjpegServer(RESTARTABLE_PORT, width=WIDTH, height=HEIGHT)
    server.start()
    source = MjpegSource(server.url("/mjpeg"), timeout_s=2.0)
    try:
        source.open()
        source.read(_now())
        server.stop()
        with pytest.raises(SourceError, match=r"stream ended|connection lost"):
            _read_until_it_fails(source)
        source.close()
        with pytest.raises(SourceError, match="connection refused"):
            source.open()
        server.start()
        source.open()
        assert source.read(_now()).shape == (HEIGHT, WIDTH, 3)
    finally:
        source.close()
        server.stop()

"""An operator's dashboard shows its own cameras and the cameras shared with it, live, and
nothing else: another operator's frames that were not shared never reach its page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from producers.publisher import Publisher
from schemas.records import Frame
from schemas.topics import shared_topic
from tests.builders import eventually_sync, frame, poll_sync
from vigie.provisioning import provision_operator_topics

PORT = 18090
JPEG = b"\xff\xd8\xff\xe0dashboard-test\xff\xd9"


def _get(path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _frame(operator: str, camera: str, seq: int) -> Frame:
    return frame(operator, camera, seq, image=JPEG + camera.encode(), width=640, height=360)


def _answers() -> bool:
    with contextlib.suppress(OSError):
        return _get("/api/state")[0] == 200
    return False


@pytest.fixture
def operators(kafka_bootstrap: str, unique: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    own, other = f"own-{unique}", f"other-{unique}"

    asyncio.run(provision_operator_topics(kafka_bootstrap, [own, other]))
    log = tmp_path / "dashboard.log"
    with log.open("wb") as out:
        dashboard = subprocess.Popen(
            [sys.executable, "-m", "vigie", "dashboard", "--operator", own, "--port", str(PORT)],
            env=os.environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        eventually_sync(
            _answers,
            20,
            interval_s=0.2,
            message=lambda: (
                f"dashboard not ready (exit {dashboard.poll()}): {log.read_text()[-2000:]}"
            ),
        )
        time.sleep(2)  # the feed subscribes from the latest offsets: let it join first
        yield own, other
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


async def _publish(bootstrap: str, own: str, other: str) -> None:
    async with Publisher(bootstrap) as publisher:
        for seq in range(5):
            await publisher.publish_frame(_frame(own, "own-cam", seq))
            await publisher.publish_frame(_frame(other, "secret-cam", seq))
            # What the policy router does for a granted camera: the same frame on shared.<own>.
            frame = _frame(other, "granted-cam", seq)
            from schemas.codec import FRAME
            from schemas.headers import frame_headers

            await publisher._producer.send(  # the router's forwarding, byte for byte
                shared_topic(own),
                value=FRAME.encode(frame),
                key=frame.camera_id.encode(),
                headers=frame_headers(frame),
            )
        await publisher.flush()


def test_dashboard_shows_own_and_shared_cameras_and_never_unshared_ones(
    kafka_bootstrap: str, operators: tuple[str, str]
) -> None:
    own, other = operators
    asyncio.run(_publish(kafka_bootstrap, own, other))

    def cameras_shown() -> dict[str, dict[str, object]]:
        state = json.loads(_get("/api/state")[1])
        return {c["camera_id"]: c for c in state["cameras"]}

    # Not a failure at the deadline: the assertions below say what the page shows.
    cameras = poll_sync(
        cameras_shown,
        10,
        interval_s=0.2,
        until=lambda shown: {"own-cam", "granted-cam"} <= shown.keys(),
    )
    assert set(cameras) == {"own-cam", "granted-cam"}
    assert cameras["own-cam"]["shared"] is False
    assert cameras["granted-cam"]["shared"] is True
    assert cameras["granted-cam"]["owner"] == other
    assert cameras["own-cam"]["sequence"] == 4

    status, body = _get("/snapshot/own-cam")
    assert status == 200
    assert body == JPEG + b"own-cam"
    assert _get("/snapshot/secret-cam")[0] == 404
    assert _get("/stream/secret-cam")[0] == 404
    status, page = _get("/")
    assert status == 200
    assert own.encode() in page

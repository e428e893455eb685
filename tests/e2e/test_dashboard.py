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
from datetime import UTC, datetime
from pathlib import Path

import pytest

from producers.publisher import Publisher
from schemas.records import Frame, FrameEncoding
from schemas.topics import shared_topic
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
    return Frame(
        camera_id=camera,
        operator=operator,
        capture_time=datetime.now(UTC),
        sequence=seq,
        width=640,
        height=360,
        encoding=FrameEncoding.JPEG,
        image=JPEG + camera.encode(),
    )


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
        for _ in range(100):
            with contextlib.suppress(OSError):
                if _get("/api/state")[0] == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"dashboard not ready (exit {dashboard.poll()}): {log.read_text()[-2000:]}")
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
    cameras: dict[str, dict[str, object]] = {}
    for _ in range(50):
        state = json.loads(_get("/api/state")[1])
        cameras = {c["camera_id"]: c for c in state["cameras"]}
        if {"own-cam", "granted-cam"} <= cameras.keys():
            break
        time.sleep(0.2)
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

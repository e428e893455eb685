"""The camera adapters' user path: cameras speaking RTSP (H.264, H.265), HTTP MJPEG, snapshot
polling, a video file and a synthetic source, run by one `vigie cameras run` process against
the real Kafka, come out as one normalised frame stream with camera events.

Real peers only: GStreamer's RTSP server, an HTTP camera, a file written by OpenCV.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from runtime import kafka_clients
from schemas.codec import CAMERA_EVENT, FRAME
from schemas.records import CameraEvent, CameraEventKind, Frame
from schemas.topics import camera_events_topic, frames_topic
from tests.peers.mjpeg_server import MjpegServer
from tests.peers.rtsp_server import RtspServer
from vigie.provisioning import provision_operator_topics

RTSP_PORT = 18654  # +1: the port that requires credentials
RESTART_PORT = 18664
MJPEG_PORT = 18680
RUN_SECONDS = 32
OUTAGE_AT_S, OUTAGE_S = 8, 5
PROFILE_FPS = 5
WRONG_PASSWORD = "Xq7-not-it"


@pytest.fixture(scope="module")
def rtsp() -> Iterator[RtspServer]:
    with RtspServer(RTSP_PORT, width=640, height=360, fps=25) as server:
        yield server


@pytest.fixture(scope="module")
def http_camera() -> Iterator[MjpegServer]:
    server = MjpegServer(MJPEG_PORT, width=640, height=360, fps=15)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _video_file(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 25, (640, 360))
    for i in range(50):
        image = np.full((360, 640, 3), 90, dtype=np.uint8)
        cv2.circle(image, (20 + i * 12, 180), 40, (255, 255, 255), -1)
        writer.write(image)
    writer.release()
    return path


@dataclass
class Observed:
    frames: dict[str, list[Frame]] = field(default_factory=lambda: defaultdict(list))
    events: dict[str, list[CameraEvent]] = field(default_factory=lambda: defaultdict(list))

    def kinds(self, camera: str) -> list[CameraEventKind]:
        return [e.kind for e in self.events[camera]]


@pytest.fixture(scope="module")
def observed(
    live_stack: object,
    kafka_bootstrap: str,
    rtsp: RtspServer,
    http_camera: MjpegServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Observed:
    """Runs one adapter process for RUN_SECONDS with a short camera outage in the middle, and
    returns everything it published."""
    import asyncio

    tmp = tmp_path_factory.mktemp("adapters")
    op = f"op-{uuid.uuid4().hex[:8]}"
    restartable = RtspServer(RESTART_PORT, width=640, height=360, fps=25)
    restartable.start()

    def cam(cid: str, kind: str, source: str, **extra: object) -> dict[str, object]:
        return {
            "id": cid,
            "operator": op,
            "name": cid,
            "position": {"lat": 50.85, "lon": 4.35},
            "zone": "test",
            "source_kind": kind,
            "source": source,
            "profile": "small",
            **extra,
        }

    config = {
        "region": "Test",
        "operators": [{"id": op, "name": "Test", "kind": "police"}],
        "profiles": [
            {
                "name": "small",
                "width": 320,
                "height": 180,
                "max_fps": PROFILE_FPS,
                "motion_threshold": 0.01,
                "motion_min_frames": 2,
            }
        ],
        "cameras": [
            cam(
                "rtsp-h264",
                "rtsp",
                rtsp.url("/h264"),
                privacy_masks=[{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
            ),
            cam("rtsp-h265", "rtsp", rtsp.url("/h265")),
            cam(
                "rtsp-wrong-password",
                "rtsp",
                f"rtsp://operator:${{VIGIE_TEST_CAM_PASSWORD}}@127.0.0.1:{RTSP_PORT + 1}/h264",
            ),
            cam("rtsp-outage", "rtsp", restartable.url("/h264")),
            cam("mjpeg", "mjpeg", http_camera.url("/mjpeg")),
            cam("snapshot", "snapshot", http_camera.url("/snapshot.jpg")),
            cam("file", "file", str(_video_file(tmp / "clip.avi"))),
            cam("synthetic", "synthetic", "synthetic://square"),
            cam("unprovisioned", "synthetic", "synthetic://square"),
        ],
    }
    config_path = tmp / "cameras.yaml"
    config_path.write_text(yaml.safe_dump(config))

    # One partition short of a partition per camera: the last camera cannot publish, and says so.
    partitions = len(config["cameras"]) - 1
    asyncio.run(provision_operator_topics(kafka_bootstrap, [op], {op: partitions}))
    env = {**os.environ, "VIGIE_TEST_CAM_PASSWORD": WRONG_PASSWORD}
    started = time.monotonic()
    adapter = subprocess.Popen(
        [sys.executable, "-m", "vigie", "cameras", "run", "--config", str(config_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(max(0.0, OUTAGE_AT_S - (time.monotonic() - started)))
        restartable.stop()
        time.sleep(OUTAGE_S)
        restartable.start()
        time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - started)))
        assert adapter.poll() is None, "the adapter process must survive a camera outage"
        adapter.send_signal(signal.SIGTERM)
        output, _ = adapter.communicate(timeout=60)
    finally:
        restartable.stop()
        if adapter.poll() is None:
            adapter.kill()
    assert adapter.returncode == 0, output.decode(errors="replace")[-3000:]
    return asyncio.run(_consume(kafka_bootstrap, op))


async def _consume(bootstrap: str, op: str) -> Observed:
    consumer = kafka_clients.consumer(
        bootstrap,
        frames_topic(op),
        camera_events_topic(op),
        client_id="test-camera-adapters",
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = Observed()
    try:
        idle = 0
        while idle < 4:
            batch = await consumer.getmany(timeout_ms=500)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for r in records:
                    assert r.value is not None
                    if r.topic == frames_topic(op):
                        frame = FRAME.decode(r.value)
                        seen.frames[frame.camera_id].append(frame)
                    else:
                        event = CAMERA_EVENT.decode(r.value)
                        seen.events[event.camera_id].append(event)
    finally:
        await consumer.stop()
    return seen


STREAMING = ["rtsp-h264", "rtsp-h265", "mjpeg", "snapshot", "file", "synthetic"]


@pytest.mark.parametrize("camera", STREAMING)
def test_every_source_kind_gives_frames_at_the_profile_size_and_rate(
    observed: Observed, camera: str
) -> None:
    frames = observed.frames[camera]
    assert len(frames) > 10, observed.kinds(camera)
    assert {(f.width, f.height) for f in frames} == {(320, 180)}
    span_s = (frames[-1].capture_time - frames[0].capture_time).total_seconds()
    fps = (len(frames) - 1) / span_s
    assert 0.6 * PROFILE_FPS <= fps <= 1.05 * PROFILE_FPS, f"{camera}: {fps:.2f} fps"
    sequences = [f.sequence for f in frames]
    assert sequences == sorted(set(sequences)), "sequence numbers strictly increase"
    now = datetime.now(UTC)
    assert all(0 <= (now - f.capture_time).total_seconds() < 120 for f in frames)
    decoded = cv2.imdecode(np.frombuffer(frames[-1].image, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (180, 320, 3)


def test_masked_pixels_are_black_in_every_published_frame(observed: Observed) -> None:
    assert observed.frames["rtsp-h264"], observed.kinds("rtsp-h264")
    for frame in observed.frames["rtsp-h264"]:
        assert frame.privacy_masked
        image = cv2.imdecode(np.frombuffer(frame.image, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        assert int(image[:, :155].max()) <= 12  # the left half, up to JPEG ringing
    assert not observed.frames["rtsp-h265"][0].privacy_masked


def test_cameras_report_online_and_motion_on_moving_content(observed: Observed) -> None:
    for camera in STREAMING:
        assert observed.kinds(camera)[0] is CameraEventKind.ONLINE, camera
    assert CameraEventKind.MOTION_START in observed.kinds("rtsp-h265")
    assert CameraEventKind.MOTION_START in observed.kinds("synthetic")


def test_wrong_credentials_give_an_offline_event_with_the_reason(observed: Observed) -> None:
    offline = [
        e for e in observed.events["rtsp-wrong-password"] if e.kind is CameraEventKind.OFFLINE
    ]
    assert offline
    assert offline[0].reason is not None
    assert "credentials" in offline[0].reason
    assert WRONG_PASSWORD not in offline[0].reason  # the password never appears in events
    assert observed.frames["rtsp-wrong-password"] == []


def test_camera_outage_goes_offline_then_online_again_without_adapter_restart(
    observed: Observed,
) -> None:
    kinds = observed.kinds("rtsp-outage")
    assert kinds[0] is CameraEventKind.ONLINE
    offline = kinds.index(CameraEventKind.OFFLINE)
    assert CameraEventKind.ONLINE in kinds[offline + 1 :], kinds
    frames = observed.frames["rtsp-outage"]
    times = [f.capture_time for f in frames]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert max(gaps) >= OUTAGE_S - 1  # the outage is visible in the stream...
    assert times[-1] > times[gaps.index(max(gaps))]  # ...and frames come back after it
    sequences = [f.sequence for f in frames]
    assert sequences == sorted(set(sequences))


def test_a_camera_without_its_partition_goes_offline_saying_to_provision(
    observed: Observed,
) -> None:
    """A camera added to the configuration but not provisioned (its frames partition does not
    exist yet) publishes nothing and says why; the others run."""
    offline = [e for e in observed.events["unprovisioned"] if e.kind is CameraEventKind.OFFLINE]
    assert offline
    assert "vigie provision" in (offline[0].reason or "")
    assert observed.frames["unprovisioned"] == []


def test_stopped_adapter_reports_its_cameras_offline(observed: Observed) -> None:
    for camera in STREAMING:
        last = observed.events[camera][-1]
        assert last.kind is CameraEventKind.OFFLINE
        assert last.reason == "adapter stopped"


def test_health_events_report_the_achieved_rate(observed: Observed) -> None:
    """Operations see each camera's achieved fps, drops and throughput every 10 s."""
    health = [e.health for e in observed.events["synthetic"] if e.kind is CameraEventKind.HEALTH]
    assert health
    assert health[0] is not None
    assert 0.6 * PROFILE_FPS <= health[0].achieved_fps <= 1.1 * PROFILE_FPS
    assert health[0].frames_published > 0
    assert health[0].bytes_per_second > 0
    assert health[0].dropped_frames == 0

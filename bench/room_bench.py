"""Incident room benchmark (issue: the incident room service).

On the dev stack with the example configuration (24 cameras of 6 operators), the policy worker
and `vigie room serve` as their own processes, frames of every camera published at 5 fps:

- API latency p50/p99 of the main calls, as a signed-in officer/viewer would make them (bearer
  token, one HTTP/1.1 connection): incident list, camera list, one snapshot (audited before it
  is sent: the audit draft's acknowledgement is inside the figure), open + close of an incident;
- capture -> first byte of a live frame at the HTTP edge, p50/p99: each published JPEG carries
  its capture time in a JPEG comment segment (the room serves the bytes unchanged), read where
  the multipart part arrives;
- the room process's CPU while N live streams are open.

Run: .venv/bin/python -m bench.room_bench [--seconds 20] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from aiokafka import AIOKafkaConsumer

from bench.cpu import _process_ticks
from bench.publish_bench import _replace_section
from infra.local import stack
from infra.local.settings import REPO_ROOT, Connection, StackSettings
from producers.normalise import encode_jpeg
from producers.publisher import Publisher
from producers.sources.synthetic import SyntheticSource
from runtime import kafka_clients
from runtime.identity import act_as_admin
from schemas.config import load
from schemas.records import Frame, FrameEncoding
from schemas.topics import frames_topic
from vigie import provisioning, room_client
from vigie.demo_users import demo_user, ensure_demo_users

CONFIG = REPO_ROOT / "vigie" / "examples" / "brussels.yaml"
FPS = 5.0
CALLS = 200
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def stamped(jpeg: bytes, capture_us: int) -> bytes:
    """`jpeg` with a comment segment holding `capture_us` right after its start marker."""
    payload = b"vigie-capture-us=" + str(capture_us).encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def capture_us_of(jpeg: bytes) -> int | None:
    marker = jpeg.find(b"vigie-capture-us=")
    if marker < 0:
        return None
    end = jpeg.find(b"\xff", marker)
    return int(jpeg[marker + len(b"vigie-capture-us=") : end])


async def publish(bootstrap: str, stop: asyncio.Event) -> None:
    """Every camera of the configuration at FPS, JPEGs stamped with their capture time."""
    config = load(CONFIG)
    jpegs = {
        c.id: encode_jpeg(SyntheticSource(c.id, c.operator, 640, 360).read(datetime.now(UTC)), 80)
        for c in config.cameras
    }
    sequence = 0
    async with Publisher(bootstrap, client_id="bench-room-cameras") as publisher:
        while not stop.is_set():
            started = time.monotonic()
            for camera in config.cameras:
                now = datetime.now(UTC)
                us = int(now.timestamp() * 1e6)
                frame = Frame(
                    camera_id=camera.id, operator=camera.operator, capture_time=now,
                    sequence=sequence, width=640, height=360, encoding=FrameEncoding.JPEG,
                    image=stamped(jpegs[camera.id], us), privacy_masked=False,
                )  # fmt: skip
                await publisher.publish_frame(frame)
            sequence += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, 1 / FPS - (time.monotonic() - started))
                )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def process(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ)
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(http: httpx2.Client, method: str, path: str, body: object = None) -> tuple[float, int]:
    started = time.perf_counter()
    answer = http.request(method, path, json=body)
    return (time.perf_counter() - started) * 1000, answer.status_code


def api_latencies(http: httpx2.Client, own_camera: str) -> list[tuple[str, float, float]]:
    rows = []
    for name, method, path in (
        ("GET /api/incidents", "GET", "/api/incidents"),
        ("GET /api/cameras", "GET", "/api/cameras"),
        ("GET /api/cameras/{id}/snapshot (audited)", "GET", f"/api/cameras/{own_camera}/snapshot"),
    ):
        times = []
        for _ in range(CALLS):
            ms, status = timed(http, method, path)
            assert status == 200, (path, status)
            times.append(ms)
        rows.append((name, *percentiles(times)))
    opens, closes = [], []
    body = {"kind": "accident", "latitude": 50.8467, "longitude": 4.3525, "radius_m": 100,
            "legal_basis": "bench"}  # fmt: skip
    for _ in range(CALLS // 4):
        started = time.perf_counter()
        answer = http.post("/api/incidents", json=body)
        opens.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 202, answer.text
        incident = answer.json()["incident_id"]
        for _ in range(100):  # the close needs the policy to have opened it
            if http.get(f"/api/incidents/{incident}").status_code == 200:
                break
            time.sleep(0.05)
        ms, status = timed(http, "POST", f"/api/incidents/{incident}/close")
        assert status == 202, status
        closes.append(ms)
    rows.append(("POST /api/incidents (accepted, 202)", *percentiles(opens)))
    rows.append(("POST /api/incidents/{id}/close (202)", *percentiles(closes)))
    return rows


async def raw_latencies(
    conn: Connection, operator: str, cameras: set[str], found: list[float], seconds: float
) -> None:
    """capture -> record received by a plain aiokafka consumer of `frames.<operator>`, ms."""
    consumer = AIOKafkaConsumer(
        frames_topic(operator),
        bootstrap_servers=conn.kafka_bootstrap,
        auto_offset_reset="latest",
        **kafka_clients.security(),
    )
    await consumer.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            received_us = time.time_ns() // 1000
            for records in batch.values():
                for r in records:
                    if (r.key or b"").decode() in cameras:
                        us = capture_us_of(r.value or b"")
                        if us is not None:
                            found.append((received_us - us) / 1000)
    finally:
        await consumer.stop()


def live_latencies(url: str, token: str, cameras: list[str], seconds: float) -> list[float]:
    """capture -> part received, ms, over `seconds`, one stream per camera (threads)."""
    found: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def watch(camera: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx2.Client(base_url=url, headers=headers, timeout=30) as http,
            http.stream("GET", f"/api/cameras/{camera}/live") as live,
        ):
            buffer = b""
            for block in live.iter_bytes():
                received_us = time.time_ns() // 1000
                buffer += block
                # A part is whole once its Content-Length bytes are in (not when the next
                # part's boundary arrives, a frame period later).
                while (head_end := buffer.find(b"\r\n\r\n")) >= 0:
                    length_at = buffer.find(b"Content-Length: ")
                    if length_at < 0 or length_at > head_end:
                        buffer = buffer[head_end + 4 :]
                        continue
                    length = int(buffer[length_at + 16 : buffer.find(b"\r\n", length_at)])
                    if len(buffer) < head_end + 4 + length:
                        break
                    jpeg = buffer[head_end + 4 : head_end + 4 + length]
                    buffer = buffer[head_end + 4 + length :]
                    us = capture_us_of(jpeg)
                    if us is not None:
                        with lock:
                            found.append((received_us - us) / 1000)
                if time.monotonic() > deadline:
                    return

    threads = [threading.Thread(target=watch, args=(c,)) for c in cameras]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return found


async def main_async(
    settings: StackSettings, conn: Connection, seconds: float, out: Path | None
) -> None:
    await provisioning.provision_all_command(CONFIG)
    config = load(CONFIG)
    passwords = ensure_demo_users(config, settings.state_dir)
    operator = config.operators[0].id
    own = [c.id for c in config.cameras if c.operator == operator]
    logs = settings.state_dir / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    vigie = [sys.executable, "-m", "vigie"]
    stop = asyncio.Event()
    pump = asyncio.create_task(publish(conn.kafka_bootstrap, stop))
    with (
        process([*vigie, "policy", "worker", "--config", str(CONFIG)], logs / "policy.log"),
        process(
            [*vigie, "room", "serve", "--config", str(CONFIG), "--port", str(port)],
            logs / "room.log",
        ) as room,  # fmt: skip
    ):
        user = demo_user(operator)
        for _ in range(120):
            try:
                saved = await asyncio.to_thread(room_client.login, url, user, passwords[user])
                break
            except room_client.RoomError:
                await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # the room's feeds reach the present
        headers = {"Authorization": f"Bearer {saved.token}"}
        with httpx2.Client(base_url=url, headers=headers, timeout=30) as http:
            rows = await asyncio.to_thread(api_latencies, http, own[0])
        ticks = _process_ticks(room.pid)
        wall = time.monotonic()
        streams = own[:4]
        # The baseline, in the same run: the same frames read straight from Kafka by a plain
        # aiokafka consumer (the room's own feed is one), so the room's share is what remains.
        raw: list[float] = []
        baseline = asyncio.create_task(raw_latencies(conn, operator, set(streams), raw, seconds))
        live = await asyncio.to_thread(live_latencies, url, saved.token, streams, seconds)
        await baseline
        room_cpu = (_process_ticks(room.pid) - ticks) * _TICK_S / (time.monotonic() - wall)
    stop.set()
    await pump
    p50, p99 = percentiles(live)
    raw50, raw99 = percentiles(raw)
    lines = [
        "## Incident room (bench/room_bench.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores; dev stack with"
        f" TLS and SCRAM; {len(config.cameras)} cameras at {FPS:g} fps (640x360 JPEG) published"
        " throughout; policy worker and room as their own processes; plain HTTP on loopback.",
        "",
        f"| call ({CALLS} each, open/close {CALLS // 4}) | p50 ms | p99 ms |",
        "|---|---|---|",
        *[f"| {name} | {a:.1f} | {b:.1f} |" for name, a, b in rows],
        "",
        f"Live: {len(streams)} MJPEG streams for {seconds:g} s, {len(live)} frames;"
        f" capture -> part received by the client p50 {p50:.0f} ms, p99 {p99:.0f} ms;"
        f" room CPU {room_cpu * 100:.0f}% of one core while they ran. Baseline in the same run:"
        f" the same cameras' frames read straight from `frames.{operator}` by a plain aiokafka"
        f" consumer (no group, its defaults but for TLS/SCRAM), capture -> received p50"
        f" {raw50:.0f} ms, p99 {raw99:.0f} ms: the room adds {p50 - raw50:.0f} ms at p50"
        f" ({p99 - raw99:.0f} ms at p99).",
        "",
        "Reproduce: `.venv/bin/python -m bench.room_bench --seconds 20`.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        _replace_section(out, "## Incident room", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    act_as_admin()  # provisioning and the camera feed; the room acts as itself
    settings = StackSettings.from_env()
    conn = stack.up(settings)  # synchronous: it probes Kafka with its own event loop
    asyncio.run(main_async(settings, conn, args.seconds, args.out))


if __name__ == "__main__":
    main()

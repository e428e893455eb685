"""Room page benchmark: capture -> painted in the browser, with 12 live tiles open.

A police operator with 12 cameras at 5 fps (640x360 JPEGs, captured now), the policy worker and
`vigie room serve`; Debian's chromium (Playwright) signed in to the page with all 12 tiles in
view. The page measures each frame from its capture time (the part's X-Capture-Time) to the
animation frame after its image decoded (`window.vigieLatencies`): Kafka, the room's feed and
live stream, the browser's parsing, decoding and painting, on one machine and one clock.

    .venv/bin/python -m bench.room_page_bench [--seconds 30] [--out docs/benchmarks.md]

Runs on the stack of the environment (`vigie stack up`, or VIGIE_STATE_DIR and ports for
another); writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import statistics
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import yaml
from playwright.async_api import async_playwright

from bench.publish_bench import _replace_section
from infra.local import stack
from infra.local.settings import REPO_ROOT, StackSettings
from runtime.connection import Connection, minio_client
from runtime.identity import act_as_admin
from schemas.config import parse
from tests.e2e.room_support import add_user, serving_world
from tests.e2e.test_room_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD
from tests.integration.policy_world import World, build_world, frame_pump, offset

HEADING = "## Room page: capture to painted (bench/room_page_bench.py)"
TILES = 12
FPS = 5.0
WIDTH, HEIGHT = 640, 360


def _images(count: int = 10) -> list[bytes]:
    rng = np.random.default_rng(5)
    images = []
    for i in range(count):
        image = rng.integers(30, 90, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        x = i * WIDTH // count
        image[:, x : x + 30] = (0, 200, 255)
        images.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    return images


def _world(directory: Path) -> World:
    """The policy tests' world with 12 police cameras (11 more around the first)."""
    built = build_world(uuid.uuid4().hex[:6], directory)
    data = yaml.safe_load(built.config_path.read_text())
    data["profiles"] = [{"name": "sd", "width": WIDTH, "height": HEIGHT, "max_fps": FPS}]
    first = next(c for c in data["cameras"] if c["operator"] == built.police)
    cameras = dict(built.cameras)
    for i in range(2, TILES + 1):
        lat, lon = offset(-300 - 40 * i, 200)
        camera_id = first["id"].replace("pc1-", f"pc{i}-")
        data["cameras"].append(
            {**first, "id": camera_id, "name": camera_id, "position": {"lat": lat, "lon": lon}}
        )
        cameras[camera_id] = (built.police, (lat, lon))
    built.config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return dataclasses.replace(built, config=parse(data, str(built.config_path)), cameras=cameras)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(conn: Connection, seconds: float, tmp: Path) -> dict[str, float]:
    bootstrap = conn.kafka_bootstrap
    world = _world(tmp)
    user = f"bench.{world.police}"
    async with serving_world(bootstrap, minio_client(conn), world, tmp) as url:
        add_user(world.config_path, user, world.police, "viewer")
        async with (
            frame_pump(bootstrap, world, interval_s=1 / FPS, images=_images()),
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
            )
            page = await browser.new_page(viewport={"width": 1900, "height": 2400})
            await page.goto(url)
            await page.fill("#login input[name=user]", user)
            await page.fill("#login input[name=password]", PASSWORD)
            await page.keyboard.press("Enter")
            painted = page.locator(".tile[data-frame-time]")
            for _ in range(300):  # the page's CSP forbids wait_for_function's eval
                if await painted.count() >= TILES:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(5)  # warm-up
            await page.evaluate("window.vigieLatencies.length = 0")
            await asyncio.sleep(seconds)
            latencies: list[float] = await page.evaluate("Array.from(window.vigieLatencies)")
            tiles = await page.locator(".tile").count()
            await browser.close()
    return {
        "tiles": float(tiles),
        "frames": float(len(latencies)),
        "fps": len(latencies) / seconds,
        "p50": _percentile(latencies, 0.50),
        "p99": _percentile(latencies, 0.99),
        "mean": statistics.fmean(latencies),
        "max": max(latencies),
    }


def _section(result: dict[str, float], seconds: float, command: str) -> str:
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            HEADING,
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, {machine}, single-node Kafka 4.1 on loopback, Debian"
            f" chromium headless (software rendering), everything on the same machine."
            f" Reproduce: `{command}`.",
            "",
            f"{TILES} cameras of one operator at {FPS:g} fps, {WIDTH}x{HEIGHT} JPEGs, all"
            f" {int(result['tiles'])} tiles in view at the page's default cap (5/s), measured"
            f" over {seconds:g} s after a 5 s warm-up: from each frame's capture time to the"
            " animation frame after the page decoded it.",
            "",
            "| measure | result |",
            "|---|---|",
            f"| frames painted | {int(result['frames'])} ({result['fps']:.1f}/s of"
            f" {TILES * FPS:g}/s nominal) |",
            f"| capture -> painted p50 | {result['p50']:.0f} ms |",
            f"| capture -> painted p99 | {result['p99']:.0f} ms |",
            f"| mean, max | {result['mean']:.0f} ms, {result['max']:.0f} ms |",
            "",
            "The tiles share one WebSocket (`/api/live`). With one MJPEG HTTP stream per tile"
            " (the first version of the page), Chromium's six HTTP/1.1 connections per host"
            " were all held by six streams: the other six tiles never painted (29.6 frames/s of"
            " 60) and the page's own API calls queued behind them.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    act_as_admin()  # the benchmark provisions and drives the stack as the admin
    conn = stack.up(StackSettings.from_env())
    with tempfile.TemporaryDirectory(prefix="vigie-room-bench-") as tmp:
        result = asyncio.run(measure(conn, args.seconds, Path(tmp)))
    command = f".venv/bin/python -m bench.room_page_bench --seconds {args.seconds:g}"
    text = _section(result, args.seconds, command)
    print(text)
    _replace_section(args.out, HEADING, text)


if __name__ == "__main__":
    main()

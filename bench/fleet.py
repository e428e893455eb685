"""Simulated cameras for the benchmarks, in a process of their own: N cameras publishing frames
of a given size at a given rate through Vigie's Publisher (each on its partition), and
optionally one camera's burst (a backlog). Its own process, so that the load it generates does
not slow the measuring process's event loop (which would inflate the latencies it measures).

Prints "publishing" once started and, at the end, one JSON line: frames published, seconds,
frames/s achieved, the burst's frames, and capture -> broker acknowledgement p50/p99 of the
fleet's frames (what the publishing side adds to any latency measured downstream).

Run: .venv/bin/python -m bench.fleet --config bench.yaml --cameras a,b,c [--fps 5]
     [--seconds 10] [--size 30000] [--burst-camera c --burst 5000 --burst-after 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from producers.publisher import Publisher
from runtime import connection
from runtime.identity import act_as_admin
from schemas.config import load
from schemas.placement import placement
from schemas.records import Frame, FrameEncoding


def frame_of(camera_id: str, operator: str, seq: int, image: bytes) -> Frame:
    return Frame(
        camera_id=camera_id, operator=operator, capture_time=datetime.now(UTC), sequence=seq,
        width=640, height=360, encoding=FrameEncoding.JPEG, image=image,
    )  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    config = load(args.config)
    owners = {c.id: c.operator for c in config.cameras}
    cameras = [c for c in args.cameras.split(",") if c]
    image = os.urandom(args.size)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.call_later(args.seconds, stop.set)
    published = 0
    bootstrap = connection.load().kafka_bootstrap
    async with Publisher(bootstrap, "bench-fleet", placement(config.cameras)) as publisher:

        async def burst() -> None:
            await asyncio.sleep(args.burst_after)
            camera = args.burst_camera
            acks = [
                await publisher.publish_frame(frame_of(camera, owners[camera], i, image))
                for i in range(args.burst)
            ]
            await asyncio.gather(*acks)
            print("burst published", flush=True)

        latencies_ms: list[float] = []
        captures: list[float] = []  # capture time (epoch s) of each acknowledged frame

        def acked(captured: float, ack: asyncio.Future[Any]) -> None:
            if not ack.cancelled() and ack.exception() is None:
                latencies_ms.append((time.time() - captured) * 1000)
                captures.append(captured)

        bursting = asyncio.create_task(burst()) if args.burst_camera else None
        print("publishing", flush=True)
        started = next_at = time.monotonic()
        seq = 0
        while not stop.is_set():
            for camera in cameras:
                frame = frame_of(camera, owners[camera], seq, image)
                ack = await publisher.publish_frame(frame)
                ack.add_done_callback(partial(acked, frame.capture_time.timestamp()))
                published += 1
            seq += 1
            next_at += 1 / args.fps
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        elapsed = time.monotonic() - started
        if bursting is not None:
            await bursting
    result: dict[str, Any] = {
        "published": published,
        "seconds": elapsed,
        "fps": published / elapsed,
        "burst": args.burst if args.burst_camera else 0,
        "ack_p50_ms": statistics.median(latencies_ms) if latencies_ms else 0.0,
        "ack_p99_ms": sorted(latencies_ms)[int(len(latencies_ms) * 0.99)] if latencies_ms else 0.0,
    }
    if args.acks:  # each acknowledgement, for a caller that measures a window of the run
        result["acks"] = [
            [round(c, 4), round(ms, 2)] for c, ms in zip(captures, latencies_ms, strict=True)
        ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--cameras", required=True, help="camera ids, comma-separated")
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=30_000)
    parser.add_argument("--burst-camera")
    parser.add_argument("--burst", type=int, default=0)
    parser.add_argument("--burst-after", type=float, default=2.0)
    parser.add_argument(
        "--acks", type=int, default=0, help="1: also list every acknowledgement (a window's)"
    )
    args = parser.parse_args()
    act_as_admin()  # a benchmark tool: it writes any operator's frames
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()

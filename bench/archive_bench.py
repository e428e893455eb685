"""Archive benchmark (issue 5: archive to MinIO).

Measures, in one run on the local stack:
- archiver throughput (frames/s, MB/s stored) on a Kafka backlog, against raw MinIO PUTs of
  the very objects it stored (each chunk's video then its manifest, byte for byte, same number
  of parallel writers), alternating the two over several rounds and comparing medians (the
  machine's load drifts); target >= 0.8 of raw. The mjpeg profile is the fair comparison (no
  re-encoding: the I/O path); h264 is CPU-bound and its encoding cost is reported apart;
- stored bytes per camera-hour at 640x360, 5 fps, on the real clip, for both profiles
  (target <= 150 MB/h for h264), and the encoding cost per frame;
- time to fetch a one-minute clip (six 10 s chunks) through the retrieval path;
- archiver RSS with 200 cameras at 5 fps (a backlog of 10 s windows: 200 open chunks).

Run: .venv/bin/python -m bench.archive_bench [--out docs/benchmarks.md] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
from minio import Minio
from minio.deleteobjects import DeleteObject

from bench.cpu import CpuMeter, CpuUse, stack_pids
from bench.publish_bench import _replace_section
from consumers.archive.archiver import Archiver, ArchiverSettings
from consumers.archive.catalog import chunks_between
from consumers.archive.chunker import ArchivedFrame, Chunk
from consumers.archive.encode import encode_chunk
from consumers.archive.store import archiver_client
from infra.local import stack
from infra.local.settings import REPO_ROOT, Connection, StackSettings
from producers.publisher import Publisher
from runtime import connection, kafka_clients
from runtime.identity import act_as_admin
from schemas.config import ArchiveProfile
from schemas.records import Frame, FrameEncoding
from schemas.storage import archive_bucket
from tests.integration.archive_support import provision_operator, read_manifests

CLIP = REPO_ROOT.parent / "shared" / "data" / "pedestrians-720p.avi"
WIDTH, HEIGHT, FPS, WINDOW_S = 640, 360, 5, 10
CAMERAS, STORE_WORKERS = 100, 4
START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def clip_jpegs() -> list[bytes]:
    """The clip at 640x360 sampled at 5 fps (every 10th frame of 50 fps), JPEG quality 80."""
    capture = cv2.VideoCapture(str(CLIP))
    frames: list[bytes] = []
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index % 10 == 0:
            small = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
            frames.append(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
        index += 1
    capture.release()
    if not frames:
        raise SystemExit(f"cannot read {CLIP}")
    return frames


def chunk_of(jpegs: list[bytes], start_index: int) -> Chunk:
    window_us = WINDOW_S * 1_000_000
    first = start_index * window_us
    chunk = Chunk("bench", "cam", "frames.bench", 0, first, window_us)
    for i in range(FPS * WINDOW_S):
        chunk.frames.append(
            ArchivedFrame(
                "frames.bench",
                0,
                i,
                "bench",
                "cam",
                i,
                first + i * 1_000_000 // FPS,
                WIDTH,
                HEIGHT,
                jpegs[(start_index * FPS * WINDOW_S + i) % len(jpegs)],
            )
        )
    return chunk


def storage_per_hour(jpegs: list[bytes]) -> list[str]:
    rows = []
    chunks = [chunk_of(jpegs, i) for i in range(6)]  # one minute
    frames = sum(len(c.frames) for c in chunks)
    for profile in ArchiveProfile:
        started = time.process_time()
        size = sum(len(encode_chunk(c, profile).data) for c in chunks)
        cpu_ms = (time.process_time() - started) * 1000 / frames
        rows.append(f"| {profile.value} | {size * 60 / 1e6:.0f} | {cpu_ms:.2f} |")
    return rows


async def publish_backlog(
    bootstrap: str, operator: str, cameras: int, per_camera: int, jpegs: list[bytes]
) -> int:
    sent = 0
    async with Publisher(bootstrap, client_id="bench-archive") as publisher:
        for seq in range(per_camera):
            for cam in range(cameras):
                await publisher.publish_frame(
                    Frame(
                        camera_id=f"cam-{cam:03d}",
                        operator=operator,
                        capture_time=START + timedelta(seconds=seq / FPS),
                        sequence=seq,
                        width=WIDTH,
                        height=HEIGHT,
                        encoding=FrameEncoding.JPEG,
                        image=jpegs[(seq + cam) % len(jpegs)],
                    )
                )
                sent += 1
        await publisher.flush()
    return sent


async def archive_backlog(
    conn: Connection, operator: str, expected: int, meter: CpuMeter | None = None
) -> tuple[float, int]:
    """Seconds the archiver takes to store a backlog of ``expected`` frames (from the moment
    it owns the partitions), and the bytes it stored; ``meter`` measures the same interval."""
    settings = ArchiverSettings(
        bootstrap=conn.kafka_bootstrap,
        group_id=f"bench-{operator}",
        window_s=WINDOW_S,
        idle_s=0.2,
        default_profile=ArchiveProfile.MJPEG,
        operators=(operator,),
        store_workers=STORE_WORKERS,
    )
    archiver = Archiver(settings, archiver_client(conn, pool_size=8))
    stop = asyncio.Event()
    task = asyncio.create_task(archiver.run(stop))
    while True:
        if archiver.reader.assignment() or task.done():
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()  # the group join is start-up, not throughput
    if meter is not None:
        meter.start()
    while True:
        if archiver.stored_frames >= expected or task.done():
            break
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    if meter is not None:
        meter.stop()
    stop.set()
    await task
    return elapsed, archiver.stored_bytes


def stored_objects(minio: Minio, operator: str) -> list[tuple[bytes, bytes]]:
    """(video, manifest) bytes of every chunk the archiver stored for ``operator``."""
    bucket = archive_bucket(operator)

    def get(key: str) -> bytes:
        response = minio.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    return [(get(m["video_key"]), get(m["manifest_key"])) for m in read_manifests(minio, operator)]


def raw_puts(
    conn: Connection, operator: str, objects: list[tuple[bytes, bytes]], workers: int
) -> float:
    """Seconds to PUT these (video, manifest) pairs as the archiver does: the same bytes, video
    then manifest, ``workers`` chunks at a time, with the archiver's MinIO client settings."""
    client = archiver_client(conn, pool_size=workers * 2)
    bucket = archive_bucket(operator)

    def put(i: int) -> None:
        video, manifest = objects[i]
        client.put_object(bucket, f"raw/{i:06d}.mkv", io.BytesIO(video), len(video))
        client.put_object(bucket, f"raw/{i:06d}.json", io.BytesIO(manifest), len(manifest))

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, range(len(objects))))
    return time.monotonic() - started


async def remove_operator(conn: Connection, root: Minio, operator: str) -> None:
    """Delete a round's topics and bucket: each round stores about 0.9 GB (Kafka and MinIO),
    which would otherwise pile up in the dev stack run after run."""
    admin = kafka_clients.admin(conn.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([t for t in existing if t.endswith(f".{operator}")])
    finally:
        await admin.close()

    def empty_bucket() -> None:
        bucket = archive_bucket(operator)
        versions = root.list_objects(bucket, recursive=True, include_version=True)
        doomed = [DeleteObject(o.object_name or "", o.version_id) for o in versions]
        for error in root.remove_objects(bucket, doomed):
            raise RuntimeError(f"cannot delete {error.name}: {error.message}")
        root.remove_bucket(bucket)

    await asyncio.to_thread(empty_bucket)


def rss_with_cameras(operator: str, cameras: int, log: Path) -> float:
    """Peak RSS (MB) of an archiver process over a backlog of ``cameras`` cameras."""
    argv = [
        sys.executable,
        "-m",
        "consumers.archive",
        "--operator",
        operator,
        "--default-profile",
        "mjpeg",
        "--group",
        f"vigie-archiver-bench-rss-{operator}",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=os.environ)
    peak = 0.0
    quiet_since = time.monotonic()
    last = ""
    try:
        while time.monotonic() - quiet_since < 8:
            status = Path(f"/proc/{process.pid}/status").read_text()
            rss = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS"))
            peak = max(peak, rss / 1024)
            text = log.read_text()
            if text != last:
                last, quiet_since = text, time.monotonic()
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(60)
    return peak


async def raw_round(
    conn: Connection,
    operator: str,
    objects: list[tuple[bytes, bytes]],
    frames: int,
    meter: CpuMeter,
) -> tuple[float, float]:
    """Frames/s and MB/s of raw PUTs of ``objects`` (which hold ``frames`` frames)."""
    meter.start()
    raw_s = await asyncio.to_thread(raw_puts, conn, operator, objects, STORE_WORKERS)
    meter.stop()
    return frames / raw_s, sum(len(v) + len(m) for v, m in objects) / raw_s / 1e6


def cpu_table(raw: list[CpuUse], ours: list[CpuUse]) -> list[str]:
    """Where the machine's time went, medians over the rounds (CPU seconds per backlog)."""

    def median(uses: list[CpuUse], name: str) -> float:
        return statistics.median(u.processes.get(name, 0.0) for u in uses)

    rows = [
        "| path | MinIO CPU s | Kafka broker CPU s | client CPU s (this process) | wall s "
        "| machine busy |",
        "|---|---|---|---|---|---|",
    ]
    for label, uses in (("raw PUTs", raw), ("archiver", ours)):
        rows.append(
            f"| {label} | {median(uses, 'MinIO'):.2f} | {median(uses, 'Kafka'):.2f} | "
            f"{median(uses, 'client'):.2f} | {statistics.median(u.wall_s for u in uses):.2f} | "
            f"{statistics.median(u.machine_busy for u in uses):.0%} |"
        )
    return rows


async def throughput_rounds(
    conn: Connection, root: Minio, jpegs: list[bytes], rounds: int, pids: dict[str, int]
) -> tuple[list[str], str]:
    """Archiver against raw PUTs of the objects it stores, alternating, medians; the result
    lines and the operator of the last round (for the fetch measurement)."""
    per_camera = FPS * WINDOW_S * 3
    ours: list[tuple[float, float]] = []  # frames/s, MB/s
    raws: list[tuple[float, float]] = []
    raw_cpu: list[CpuUse] = []
    our_cpu: list[CpuUse] = []
    objects: list[tuple[bytes, bytes]] = []
    operator = ""
    for round_ in range(rounds):
        if operator:
            await remove_operator(conn, root, operator)
        operator = f"bench-{uuid.uuid4().hex[:6]}"
        await provision_operator(conn.kafka_bootstrap, root, operator)
        sent = await publish_backlog(conn.kafka_bootstrap, operator, CAMERAS, per_camera, jpegs)

        if objects and round_ % 2 == 1:
            meter = CpuMeter(pids)  # alternate the order
            raws.append(await raw_round(conn, operator, objects, sent, meter))
            raw_cpu.append(_result(meter))
        meter = CpuMeter(pids)
        elapsed, _ = await archive_backlog(conn, operator, sent, meter)
        our_cpu.append(_result(meter))
        stored = await asyncio.to_thread(stored_objects, root, operator)
        ours.append((sent / elapsed, sum(len(v) + len(m) for v, m in stored) / elapsed / 1e6))
        if not objects or round_ % 2 == 0:
            objects = stored
            meter = CpuMeter(pids)
            raws.append(await raw_round(conn, operator, objects, sent, meter))
            raw_cpu.append(_result(meter))
        print(f"round {round_}: archiver {ours[-1][0]:.0f} frames/s, raw {raws[-1][0]:.0f}")
    raw_fps, raw_mbs = (statistics.median(x) for x in zip(*raws, strict=True))
    our_fps, our_mbs = (statistics.median(x) for x in zip(*ours, strict=True))
    lines = [
        f"Archiver on a backlog of {CAMERAS * per_camera} frames ({CAMERAS} cameras, mjpeg "
        f"profile, {STORE_WORKERS} store workers) against raw MinIO PUTs of the very objects it "
        f"stored ({len(objects)} videos, each followed by its manifest, byte for byte, "
        f"{STORE_WORKERS} threads), alternated over {rounds} rounds, medians:",
        "",
        "| path | frames/s | MB/s stored | ratio |",
        "|---|---|---|---|",
        f"| raw PUTs | {raw_fps:.0f} | {raw_mbs:.1f} | 1.00 |",
        f"| archiver (Kafka → chunks → MinIO, commits) | {our_fps:.0f} | {our_mbs:.1f} | "
        f"{our_fps / raw_fps:.2f} |",
        "",
        "Per round (frames/s, archiver / raw): "
        + ", ".join(f"{o[0]:.0f} / {r[0]:.0f}" for o, r in zip(ours, raws, strict=True))
        + ".",
        "",
        "Where the machine's time went (CPU seconds over the same intervals, from /proc, medians):",
        "",
        *cpu_table(raw_cpu, our_cpu),
    ]
    return lines, operator


def _result(meter: CpuMeter) -> CpuUse:
    if meter.result is None:
        raise RuntimeError("the measured interval did not end")
    return meter.result


async def main_async(
    conn: Connection, out: Path | None, tmp: Path, rounds: int, pids: dict[str, int]
) -> None:
    jpegs = clip_jpegs()
    mean_kb = sum(map(len, jpegs)) / len(jpegs) / 1024
    root = connection.minio_client(conn)
    lines = [
        "## Archive (bench/archive_bench.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores, the real clip "
        f"at {WIDTH}x{HEIGHT} sampled at {FPS} fps (JPEG q80, mean {mean_kb:.0f} KB), "
        f"{WINDOW_S} s chunks, local Kafka and MinIO on loopback.",
        "",
        "Stored bytes per camera-hour and encoding cost:",
        "",
        "| profile | MB per camera-hour | CPU ms per frame |",
        "|---|---|---|",
        *storage_per_hour(jpegs),
    ]

    throughput, operator = await throughput_rounds(conn, root, jpegs, rounds, pids)
    lines += ["", *throughput]

    # One minute of one camera: 6 chunks, listed (manifests) then downloaded.
    started = time.monotonic()
    chunks = await asyncio.to_thread(
        chunks_between, root, operator, "cam-000", START, START + timedelta(seconds=30)
    )
    for chunk in chunks:
        response = await asyncio.to_thread(root.get_object, chunk.bucket, chunk.video_key)
        await asyncio.to_thread(response.read)
        response.close()
        response.release_conn()
    fetch_s = time.monotonic() - started
    per_minute = fetch_s * (60 / WINDOW_S) / max(1, len(chunks))
    lines += [
        "",
        f"Fetching a clip: {len(chunks)} chunks ({len(chunks) * WINDOW_S} s) listed and "
        f"downloaded in {fetch_s * 1000:.0f} ms, i.e. about {per_minute * 1000:.0f} ms for "
        "one minute.",
    ]

    rss_operator = f"bench-{uuid.uuid4().hex[:6]}"
    await provision_operator(conn.kafka_bootstrap, root, rss_operator)
    await publish_backlog(conn.kafka_bootstrap, rss_operator, 200, FPS * WINDOW_S, jpegs)
    peak = await asyncio.to_thread(rss_with_cameras, rss_operator, 200, tmp / "rss.log")
    await remove_operator(conn, root, operator)
    await remove_operator(conn, root, rss_operator)
    lines += [
        "",
        f"Archiver RSS with 200 cameras at {FPS} fps (10 s windows, 200 open chunks of "
        f"{FPS * WINDOW_S} JPEGs each): peak {peak:.0f} MB.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        _replace_section(out, "## Archive", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--rounds", type=int, default=5, help="archiver/raw rounds (median)")
    args = parser.parse_args()
    act_as_admin()  # the benchmark provisions and drives the stack as the admin
    settings = StackSettings.from_env()
    conn = stack.up(settings)
    tmp = settings.state_dir / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(conn, args.out, tmp, args.rounds, stack_pids(settings)))


if __name__ == "__main__":
    main()

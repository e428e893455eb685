"""Archive benchmark (issue 5: archive to MinIO).

Measures, in one run on the local stack:
- archiver throughput (frames/s, MB/s stored) on a Kafka backlog, against raw MinIO PUTs of
  the very objects it stored (each chunk's video then its manifest, byte for byte, same number
  of parallel writers), alternating the two over several rounds and comparing medians (the
  machine's load drifts); target >= 0.8 of raw. The mjpeg profile is the fair comparison (no
  re-encoding: the I/O path); h264 is CPU-bound and its encoding cost is reported apart;
- the client CPU seconds per GB archived of both paths (target: the archiver <= 1.5 times the
  raw PUTs), from /proc, the archiver's by thread role, and beside them what a plain librdkafka
  consumer (librdkafka's defaults) spends reading the same backlog: the floor of the reading;
- one uncounted warm-up round first (a fresh broker compiles for its first rounds);
- measured as on separate hosts: MinIO and Kafka (every thread) are pinned to one CPU, this
  process (the archiver, the raw PUT client) to another, and the services' affinity restored
  at the end; the benchmark refuses to run on fewer than 2 CPUs;
- stored bytes per camera-hour at 640x360, 5 fps, on the real clip, for both profiles
  (target <= 150 MB/h for h264), and the encoding cost per frame;
- time to fetch a one-minute clip (six 10 s chunks) through the retrieval path;
- archiver RSS with 200 cameras at 5 fps (a backlog of 10 s windows: 200 open chunks).

Run: .venv/bin/python -m bench.archive_bench [--out docs/benchmarks.md] [--rounds 5] [--cameras 100]
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from minio import Minio
from minio.deleteobjects import DeleteObject

from bench.cpu import CpuMeter, CpuUse, stack_pids
from bench.pinning import Pinning, pin_process, threads_outside, two_cpus
from bench.publish_bench import _replace_section
from bench.topics import delete_operator_topics
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
from schemas.placement import Placement
from schemas.records import Frame, FrameEncoding
from schemas.storage import archive_bucket
from schemas.topics import frames_topic
from tests.integration.archive_support import provision_operator, read_manifests

CLIP = REPO_ROOT.parent / "shared" / "data" / "pedestrians-720p.avi"
WIDTH, HEIGHT, FPS, WINDOW_S = 640, 360, 5, 10
CAMERAS, STORE_WORKERS = 100, 4
WARM_UP_ROUNDS = 1
"""Rounds run first and not counted: a freshly started broker spends 0.3-1 s a round in its
JIT compiler threads over its first rounds, which would count as the archiver's cost."""
BACKLOG = CAMERAS * FPS * WINDOW_S * 3
"""Frames per round: by default 100 cameras, 30 s (three 10 s windows) each."""
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
    """Each camera on its own partition, as `vigie provision` and the adapters place them."""
    sent = 0
    placed = Placement({f"cam-{cam:03d}": (operator, cam) for cam in range(cameras)})
    async with Publisher(bootstrap, client_id="bench-archive", placement=placed) as publisher:
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
    conn: Connection,
    operator: str,
    expected: int,
    meter: CpuMeter | None = None,
    client_cpus: set[int] | None = None,
) -> tuple[float, int]:
    """Seconds the archiver takes to store a backlog of ``expected`` frames (from the moment
    it owns the partitions), and the bytes it stored; ``meter`` measures the same interval.
    ``client_cpus``: check that every thread of this process (librdkafka's included) stayed
    on these CPUs."""
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
    outside = [] if client_cpus is None else threads_outside(os.getpid(), client_cpus)
    stop.set()
    await task
    if outside:
        raise SystemExit(f"threads of the measured client not pinned: {', '.join(outside)}")
    return elapsed, archiver.stored_bytes


def stored_objects(minio: Minio, operator: str) -> list[tuple[bytes, bytes]]:
    """(video, manifest) bytes of every chunk the archiver stored for ``operator`` (once, even
    after raw PUTs of copies)."""
    bucket = archive_bucket(operator)

    def get(key: str) -> bytes:
        response = minio.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    # By manifest key: the raw PUTs' copies (raw/*.json) hold the same manifests.
    stored = {m["manifest_key"]: m for m in read_manifests(minio, operator)}
    return [(get(m["video_key"]), get(m["manifest_key"])) for m in stored.values()]


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


def plain_read(conn: Connection, operator: str, partitions: int, expected: int) -> float:
    """Seconds a plain librdkafka consumer (librdkafka's defaults; partitions assigned, no
    group join) takes to read the backlog from the start: the floor of reading the frames,
    which the archiver pays before any of its own work."""
    consumer = Consumer(
        {
            "bootstrap.servers": conn.kafka_bootstrap,
            "group.id": f"bench-plain-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **kafka_clients.librdkafka_security(),
        }
    )
    topic = frames_topic(operator)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    read = 0
    started = time.monotonic()
    try:
        while read < expected:
            read += sum(1 for m in consumer.consume(500, 1.0) if m.error() is None)
    finally:
        elapsed = time.monotonic() - started
        consumer.close()
    return elapsed


async def remove_operator(conn: Connection, root: Minio, operator: str) -> None:
    """Delete a round's topics and bucket: each round stores about 0.9 GB (Kafka and MinIO),
    which would otherwise pile up in the dev stack run after run."""
    await delete_operator_topics(conn.kafka_bootstrap, [operator])

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


@dataclass(frozen=True)
class Measured:
    """One path's round: the backlog it stored, in how long, and where the CPU went."""

    frames: int
    stored_bytes: int
    """Videos and manifests, as stored."""
    seconds: float
    cpu: CpuUse

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.stored_bytes / self.seconds / 1e6

    @property
    def client_s_per_gb(self) -> float:
        """CPU seconds of this process (the measured client) per GB stored."""
        return self.cpu.processes["client"] / (self.stored_bytes / 1e9)


def _size(objects: list[tuple[bytes, bytes]]) -> int:
    return sum(len(v) + len(m) for v, m in objects)


async def raw_round(
    conn: Connection,
    operator: str,
    objects: list[tuple[bytes, bytes]],
    frames: int,
    meter: CpuMeter,
) -> Measured:
    """Raw PUTs of ``objects`` (which hold ``frames`` frames)."""
    meter.start()
    raw_s = await asyncio.to_thread(raw_puts, conn, operator, objects, STORE_WORKERS)
    return Measured(frames, _size(objects), raw_s, meter.stop())


def _median(rounds: list[Measured], value: Callable[[Measured], float]) -> float:
    return statistics.median(value(r) for r in rounds)


def result_table(raws: list[Measured], ours: list[Measured]) -> list[str]:
    """Throughput and client CPU per GB of both paths, medians over the rounds."""
    raw_fps = _median(raws, lambda r: r.frames_per_s)
    raw_cpu = _median(raws, lambda r: r.client_s_per_gb)
    rows = [
        "| path | frames/s | MB/s stored | ratio | client CPU s per GB | CPU ratio |",
        "|---|---|---|---|---|---|",
    ]
    for label, rounds in (
        ("raw PUTs (minio-py)", raws),
        ("archiver (Kafka → chunks → MinIO, commits)", ours),
    ):
        fps = _median(rounds, lambda r: r.frames_per_s)
        cpu = _median(rounds, lambda r: r.client_s_per_gb)
        rows.append(
            f"| {label} | {fps:.0f} | {_median(rounds, lambda r: r.mb_per_s):.1f} | "
            f"{fps / raw_fps:.2f} | {cpu:.2f} | {cpu / raw_cpu:.2f} |"
        )
    return rows


ROLES = (
    ("MainThread", "event loop: read, decode and chunk frames, commit, announce"),
    ("archive-store", "store workers: mux, SHA-256, the two PUTs"),
    ("rdk:", "librdkafka: fetch (TLS, parsing)"),
    ("", "other: confluent_kafka.aio's calls into librdkafka, asyncio"),
)


def archiver_role(thread: str) -> str:
    """What an archiver thread does, from its name (``CpuMeter``'s role)."""
    return next(role for prefix, role in ROLES if thread.startswith(prefix))


def thread_table(ours: list[Measured]) -> list[str]:
    """The archiver's client CPU by thread role, medians over the rounds."""
    rows = ["| archiver threads | CPU s | CPU s per GB |", "|---|---|---|"]
    for _, role in ROLES:
        spent = [r.cpu.client_threads.get(role, 0.0) for r in ours]
        per_gb = [cpu / (r.stored_bytes / 1e9) for cpu, r in zip(spent, ours, strict=True)]
        rows.append(
            f"| {role} | {statistics.median(spent):.2f} | {statistics.median(per_gb):.2f} |"
        )
    return rows


def cpu_table(
    raws: list[Measured], ours: list[Measured], reads: list[Measured], cores: tuple[int, int]
) -> list[str]:
    """Where the machine's time went, medians over the rounds (CPU seconds per backlog)."""
    services, client = cores
    rows = [
        "| path | MinIO CPU s | Kafka broker CPU s | client CPU s (this process) | wall s "
        f"| CPU {services} busy (services) | CPU {client} busy (client) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, rounds in (
        ("raw PUTs", raws),
        ("archiver", ours),
        ("plain librdkafka consumer of the backlog (defaults; reading alone)", reads),
    ):
        cells = [
            statistics.median(r.cpu.processes.get(name, 0.0) for r in rounds)
            for name in ("MinIO", "Kafka", "client")
        ]
        rows.append(
            f"| {label} | {cells[0]:.2f} | {cells[1]:.2f} | {cells[2]:.2f} | "
            f"{_median(rounds, lambda r: r.cpu.wall_s):.2f} | "
            f"{_median(rounds, lambda r: r.cpu.core_busy[services]):.0%} | "
            f"{_median(rounds, lambda r: r.cpu.core_busy[client]):.0%} |"
        )
    return rows


async def throughput_rounds(
    conn: Connection,
    root: Minio,
    jpegs: list[bytes],
    rounds: int,
    pids: dict[str, int],
    services: Pinning,
    cores: tuple[int, int],
    cameras: int,
) -> tuple[list[str], str]:
    """Archiver against raw PUTs of the objects it stores, alternating, medians; the result
    lines and the operator of the last round (for the fetch measurement).

    The backlog is ``BACKLOG`` frames of ``cameras`` cameras: fewer cameras, more windows
    each (the same chunks of 50 frames), each camera on its own partition as deployed. A
    camera's chunk closes when its next window begins (the last one after the idle time)."""
    per_camera = BACKLOG // cameras
    client_cpus = {cores[1]}
    ours: list[Measured] = []
    raws: list[Measured] = []
    reads: list[Measured] = []
    objects: list[tuple[bytes, bytes]] = []
    operator = ""
    for round_ in range(-WARM_UP_ROUNDS, rounds):
        if operator:
            await remove_operator(conn, root, operator)
        operator = f"bench-{uuid.uuid4().hex[:6]}"
        await provision_operator(conn.kafka_bootstrap, root, operator, cameras)
        sent = await publish_backlog(conn.kafka_bootstrap, operator, cameras, per_camera, jpegs)

        services.apply()  # a thread the services started meanwhile
        raw: Measured | None = None
        if objects and round_ % 2 == 1:  # alternate the order
            raw = await raw_round(conn, operator, objects, sent, CpuMeter(pids))
        meter = CpuMeter(pids, role=archiver_role)
        elapsed, _ = await archive_backlog(conn, operator, sent, meter, client_cpus)
        stored = await asyncio.to_thread(stored_objects, root, operator)
        archived = Measured(sent, _size(stored), elapsed, _result(meter))
        meter = CpuMeter(pids)
        meter.start()
        read_s = await asyncio.to_thread(plain_read, conn, operator, cameras, sent)
        reading = Measured(sent, _size(stored), read_s, meter.stop())
        if raw is None:
            objects = stored
            raw = await raw_round(conn, operator, objects, sent, CpuMeter(pids))
        print(
            f"round {round_}{' (warm-up, not counted)' if round_ < 0 else ''}: archiver "
            f"{archived.frames_per_s:.0f} frames/s {archived.client_s_per_gb:.2f} CPU s/GB, "
            f"raw {raw.frames_per_s:.0f} frames/s {raw.client_s_per_gb:.2f} CPU s/GB"
        )
        if round_ >= 0:
            ours.append(archived)
            raws.append(raw)
            reads.append(reading)
    services_cpu, client_cpu = cores
    lines = [
        f"Archiver on a backlog of {cameras * per_camera} frames ({cameras} cameras, "
        f"{per_camera // (FPS * WINDOW_S)} windows of {WINDOW_S} s each, mjpeg "
        f"profile, {STORE_WORKERS} store workers) against raw MinIO PUTs of the very objects it "
        f"stored ({len(objects)} videos, each followed by its manifest, byte for byte, "
        f"{STORE_WORKERS} threads), alternated over {rounds} rounds after {WARM_UP_ROUNDS} "
        "uncounted, medians; MinIO and Kafka "
        f"(every thread) pinned to CPU {services_cpu}, the measured client (the archiver, the "
        f"raw PUT client) to CPU {client_cpu}, as if on separate hosts:",
        "",
        *result_table(raws, ours),
        "",
        "Per round (frames/s and client CPU s per GB, archiver / raw): "
        + ", ".join(
            f"{o.frames_per_s:.0f} / {r.frames_per_s:.0f} "
            f"({o.client_s_per_gb:.2f} / {r.client_s_per_gb:.2f})"
            for o, r in zip(ours, raws, strict=True)
        )
        + ".",
        "",
        "Where the machine's time went (CPU seconds over the same intervals, from /proc, medians):",
        "",
        *cpu_table(raws, ours, reads, cores),
        "",
        "The archiver's client CPU by thread (from /proc, medians):",
        "",
        *thread_table(ours),
    ]
    return lines, operator


def _result(meter: CpuMeter) -> CpuUse:
    if meter.result is None:
        raise RuntimeError("the measured interval did not end")
    return meter.result


async def main_async(
    conn: Connection,
    out: Path | None,
    tmp: Path,
    rounds: int,
    pids: dict[str, int],
    services: Pinning,
    cores: tuple[int, int],
    cameras: int,
) -> None:
    jpegs = clip_jpegs()
    mean_kb = sum(map(len, jpegs)) / len(jpegs) / 1024
    root = connection.minio_client(conn)
    lines = [
        "## Archive (bench/archive_bench.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores, the real clip "
        f"at {WIDTH}x{HEIGHT} sampled at {FPS} fps (JPEG q80, mean {mean_kb:.0f} KB), "
        f"{WINDOW_S} s chunks, local Kafka and MinIO on loopback (over TLS, with SCRAM).",
        "",
        "Stored bytes per camera-hour and encoding cost:",
        "",
        "| profile | MB per camera-hour | CPU ms per frame |",
        "|---|---|---|",
        *storage_per_hour(jpegs),
    ]

    throughput, operator = await throughput_rounds(
        conn, root, jpegs, rounds, pids, services, cores, cameras
    )
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
    await provision_operator(conn.kafka_bootstrap, root, rss_operator, 200)
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
    parser.add_argument(
        "--cameras",
        type=int,
        default=CAMERAS,
        help=f"cameras sharing the backlog of {BACKLOG} frames (fewer: more windows each)",
    )
    args = parser.parse_args()
    act_as_admin()  # the benchmark provisions and drives the stack as the admin
    cores = two_cpus()
    settings = StackSettings.from_env()
    conn = stack.up(settings)  # before pinning: services it starts must not inherit our CPU
    tmp = settings.state_dir / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    pids = stack_pids(settings)
    missing = {"MinIO", "Kafka"} - set(pids)
    if missing:
        raise SystemExit(f"no pid for {', '.join(sorted(missing))}: cannot pin the services")
    # Every thread of this process, before it starts any other (asyncio's executor, the store
    # workers, librdkafka's threads inherit the affinity of the thread that starts them).
    pin_process(os.getpid(), {cores[1]})
    with Pinning([pids["MinIO"], pids["Kafka"]], {cores[0]}) as services:
        asyncio.run(
            main_async(conn, args.out, tmp, args.rounds, pids, services, cores, args.cameras)
        )


if __name__ == "__main__":
    main()

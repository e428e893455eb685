"""`vigie archive run|hold|release|list|get|export|verify`.

`list`, `get` and `export` are clients of the incident room (the token of `vigie room login`):
the room decides from the signed-in user's operator and grants, and audits before anything
goes out. `run` is the archiver service; `hold|release` of camera windows is operations
tooling (the admin; incidents' holds go through the room)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from schemas.config import ArchiveProfile
from schemas.security import ARCHIVER, MINIO_EVIDENCE
from vigie.commands.base import Handler, Subparsers, act_as_tooling, actor, add, group, moment
from vigie.room_client import RoomError


def _run(args: argparse.Namespace) -> int:
    from consumers.archive.archiver import ArchiverSettings, run
    from consumers.archive.store import archiver_client
    from runtime import connection
    from runtime.identity import act_as
    from schemas.config import load

    act_as(ARCHIVER)
    profiles = {}
    owners = {}
    if args.config is not None:
        config = load(args.config)
        profiles = {o.id: o.archive_profile for o in config.operators}
        owners = {c.id: c.operator for c in config.cameras}
    conn = connection.as_minio_service(connection.load(), ARCHIVER)
    settings = ArchiverSettings(
        bootstrap=conn.kafka_bootstrap,
        group_id=args.group,
        window_s=args.window_seconds,
        idle_s=args.idle_seconds,
        profiles=profiles,
        default_profile=ArchiveProfile(args.default_profile),
        store_workers=args.workers,
        session_timeout_ms=args.session_timeout_ms,
        commit_interval_s=args.commit_interval_seconds,
        operators=tuple(args.operator or ()),
        owners=owners,
    )
    asyncio.run(run(settings, archiver_client(conn, pool_size=args.workers + 2)))
    return 0


def _hold(args: argparse.Namespace) -> int:
    from consumers.archive.hold import hold_window
    from runtime import connection

    # Operations tooling, as the admin: audited under the machine account that ran it.
    act_as_tooling()
    conn = connection.load()
    result = asyncio.run(
        hold_window(
            conn.kafka_bootstrap,
            connection.minio_client(connection.as_minio_service(conn, MINIO_EVIDENCE)),
            operator=args.operator,
            cameras=args.camera,
            start=args.start,
            end=args.end,
            actor=f"{actor()} (operations)",
            reason=args.reason,
            incident_id=args.incident,
            legal_basis=args.legal_basis,
            release=args.archive_command == "release",
        )
    )
    verb = "under legal hold" if result.held else "released from legal hold"
    print(f"{len(result.objects)} objects of {result.bucket} {verb} (audited)")
    for key in result.objects:
        print(f"  {key}")
    return 0


def _retrieve(args: argparse.Namespace) -> int:
    """`vigie archive list|get`: a camera's archive through the room, as the signed-in user
    (its own operator's cameras, or another's under an archive grant covering the window)."""
    import hashlib

    from vigie.room_client import RoomClient

    window = {"start": args.start.isoformat(), "end": args.end.isoformat()}
    with RoomClient.signed_in() as room:
        timeline = room.get(f"/api/cameras/{args.camera}/archive", window)
        for chunk in timeline["chunks"]:
            where = chunk["playback"]
            if args.archive_command == "get":
                name = chunk["playback"].rsplit("/", 2)
                target = args.out / f"{name[-2]}-p{int(name[-1]):06d}.{_ext(chunk)}"
                headers = room.download("GET", chunk["playback"], target)
                digest = hashlib.sha256(target.read_bytes()).hexdigest()
                if digest != headers.get("x-vigie-video-sha256"):
                    raise RoomError(f"{target}: SHA-256 differs from the archive's manifest")
                where = str(target)
            print(
                f"{chunk['window_start']} p{chunk['part']} {chunk['frames']} frames"
                f" {chunk['codec']} {where}"
            )
        for gap in timeline["gaps"]:
            print(f"gap {gap['start']} -> {gap['end']}")
    print(f"{len(timeline['chunks'])} chunks of {timeline['owner']}'s camera (audited)")
    return 0


def _ext(chunk: dict[str, str]) -> str:
    return "mp4" if "mp4" in chunk.get("content_type", "") else "mkv"


def register(sub: Subparsers) -> None:
    from consumers.archive.chunker import DEFAULT_IDLE_S, DEFAULT_WINDOW_S

    archive_sub = group(sub, "archive", "the archive in MinIO: archiver, holds, retrieval")

    def command(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        return add(archive_sub, name, handler, help_)

    run = command("run", _run, "archive every operator's frames to MinIO (a consumer group)")
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="configuration giving each operator's archive profile (default: none, all use"
        " --default-profile)",
    )
    run.add_argument(
        "--default-profile",
        choices=[p.value for p in ArchiveProfile],
        default=ArchiveProfile.H264.value,
        help="archive profile of operators the configuration does not list",
    )
    for name, help_ in (
        ("hold", "put chunks of cameras over a time window under legal hold (audited)"),
        ("release", "lift the legal hold of chunks of cameras over a time window (audited)"),
    ):
        p = command(name, _hold, help_)
        p.add_argument("--operator", required=True, help="owner of the cameras and the archive")
        p.add_argument("--camera", action="append", required=True, help="camera id (repeatable)")
        p.add_argument("--from", dest="start", type=moment, required=True)
        p.add_argument("--to", dest="end", type=moment, required=True)
        p.add_argument("--reason", required=True, help="why, for the audit record")
        p.add_argument("--incident", help="incident id the evidence belongs to")
        p.add_argument("--legal-basis")

    for name, help_ in (
        ("list", "a camera's archived chunks and gaps over a window (through the room)"),
        ("get", "download a camera's chunks over a window into --out (checked; via the room)"),
    ):
        p = command(name, _retrieve, help_)
        p.add_argument("--camera", required=True)
        p.add_argument("--from", dest="start", type=moment, required=True)
        p.add_argument("--to", dest="end", type=moment, required=True)
        if name == "get":
            p.add_argument("--out", type=Path, default=Path(), help="folder for the clips")

    run.add_argument("--window-seconds", type=int, default=DEFAULT_WINDOW_S)
    run.add_argument(
        "--idle-seconds",
        type=float,
        default=DEFAULT_IDLE_S,
        help="close a camera's chunk after this long without frames",
    )
    run.add_argument("--group", default="vigie-archiver", help="Kafka consumer group")
    run.add_argument("--workers", type=int, default=4, help="parallel chunk stores")
    run.add_argument(
        "--operator",
        action="append",
        help="archive only this operator's frames (repeatable; default: every operator)",
    )
    run.add_argument(
        "--commit-interval-seconds",
        type=float,
        default=1.0,
        help="how often stored chunks' offsets are committed",
    )
    run.add_argument(
        "--session-timeout-ms",
        type=int,
        default=10_000,
        help="Kafka group session timeout: how soon a dead archiver's partitions move",
    )

    export = command("export", _export, "an evidence package of an incident (audited)")
    export.add_argument("incident", help="incident id")
    export.add_argument("--out", type=Path, default=Path("evidence"), help="parent folder")
    export.add_argument("--reason", required=True, help="why, for the receipt and the audit")
    verify = command("verify", _verify, "check an evidence package against its hashes")
    verify.add_argument("package", type=Path)


def _export(args: argparse.Namespace) -> int:
    """The incident's evidence package, made by the room for the signed-in supervisor's
    operator, unpacked into --out."""
    import tempfile
    import zipfile

    from vigie.room_client import RoomClient

    with tempfile.TemporaryDirectory() as scratch, RoomClient.signed_in() as room:
        target = Path(scratch) / "package.zip"
        made = room.post(f"/api/incidents/{args.incident}/export", {"reason": args.reason})
        room.download("GET", made["download"], target)
        args.out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target) as archive:
            for member in archive.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise RoomError(f"the package holds an unsafe path: {member!r}")
            archive.extractall(args.out)
    package = args.out / made["package"]
    print(f"evidence package {package} (verify with `vigie archive verify {package}`)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from consumers.archive.evidence import verify_package

    report = verify_package(args.package)
    for problem in report.problems:
        print(f"FAIL {problem}")
    print(f"{report.checked} files checked: {'OK' if report.ok else 'NOT INTACT'}")
    return 0 if report.ok else 1

"""`vigie demo`: the whole pipeline on the local stack with the simulated cameras of a
configuration, and a console view of what flows.

Stops what it started on Ctrl-C or after `--seconds`: the camera processes always, the stack
only if the demo was the one to start it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.local import stack
from infra.local.settings import StackSettings
from runtime import kafka_clients
from schemas.codec import INCIDENT_EVENT, DecodeError
from schemas.config import VigieConfig, load
from schemas.headers import HeaderError, parse_frame_headers
from schemas.records import IncidentEvent
from schemas.topics import FRAMES_PATTERN, INCIDENTS
from vigie import provisioning, room_client, scenario
from vigie.demo_users import AUDITOR, demo_user, ensure_demo_users, passwords_path
from vigie.room_client import RoomClient, RoomError, SavedLogin
from vigie.supervisor import Child, Supervisor

logger = logging.getLogger(__name__)

REPORT_INTERVAL_S = 5.0
# The scripted pursuit starts once the policy worker is up, then moves every few seconds.
PURSUIT_START_S = 12.0
PURSUIT_STEP_S = 8.0
CLOSE_BEFORE_END_S = 3.0
PURSUIT_PAUSE_S = 20.0


@dataclass
class FlowStats:
    """Frames seen per camera since the last report, from headers only (no payload decoding)."""

    frames: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bytes: int = 0
    bad_headers: int = 0

    def report(self, elapsed_s: float) -> str:
        cams = len(self.frames)
        total = sum(self.frames.values())
        line = (
            f"{total / elapsed_s:6.1f} frames/s from {cams} cameras, "
            f"{self.bytes / elapsed_s / 1e6:5.2f} MB/s"
        )
        if self.bad_headers:
            line += f", {self.bad_headers} frames with bad headers"
        self.frames.clear()
        self.bytes = self.bad_headers = 0
        return line


def camera_children(config: VigieConfig, config_path: Path, settings: StackSettings) -> list[Child]:
    """One adapter process per operator: each operator runs its own cameras."""
    return [
        Child(
            name=f"cameras-{op.id}",
            argv=[
                sys.executable,
                "-m",
                "producers",
                "--config",
                str(config_path),
                "--operator",
                op.id,
            ],
            log_file=settings.logs_dir / f"cameras-{op.id}.log",
        )
        for op in config.operators
        if config.cameras_of(op.id)
    ]


def archiver_child(config: VigieConfig, config_path: Path, settings: StackSettings) -> Child:
    """The archiver: the operators' frames into their MinIO buckets, in their archive profiles."""
    operators = [arg for op in config.operators for arg in ("--operator", op.id)]
    return Child(
        name="archiver",
        argv=[sys.executable, "-m", "consumers.archive", "--config", str(config_path), *operators],
        log_file=settings.logs_dir / "archiver.log",
    )


def policy_child(config_path: Path, settings: StackSettings) -> Child:
    """The policy worker: incidents, grants, routing to shared.<operator>, audit."""
    return Child(
        name="policy-worker",
        argv=[sys.executable, "-m", "vigie", "policy", "worker", "--config", str(config_path)],
        log_file=settings.logs_dir / "policy-worker.log",
    )


def audit_archiver_child(settings: StackSettings) -> Child:
    """The audit archiver: sealed audit records into the object-locked bucket, anchored."""
    return Child(
        name="audit-archiver",
        argv=[sys.executable, "-m", "vigie", "audit", "archive", "--follow"],
        log_file=settings.logs_dir / "audit-archiver.log",
    )


def describe_incident_event(event: IncidentEvent) -> str:
    """One console line per incident event (pure)."""
    what = f"{event.kind}"
    if event.camera_id:
        what += f" {event.camera_id}"
    if event.reason:
        what += f" ({event.reason})"
    return f"incident {event.incident_id} [{event.operator}]: {what}"


async def watch(
    bootstrap: str, supervisor: Supervisor, until: float | None, stop: asyncio.Event
) -> None:
    consumer = kafka_clients.consumer(
        bootstrap,
        client_id="vigie-demo-console",
        group_id="vigie-demo-console",
        auto_offset_reset="latest",
        enable_auto_commit=True,
    )
    # Frames of every operator (counted from headers) and the incident events (printed).
    consumer.subscribe(pattern=f"{FRAMES_PATTERN}|^{INCIDENTS}$")
    await consumer.start()
    stats = FlowStats()
    started = last_report = time.monotonic()
    try:
        while not stop.is_set() and (until is None or time.monotonic() < until):
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batch.values():
                for r in records:
                    if r.topic == INCIDENTS:
                        try:
                            print(describe_incident_event(INCIDENT_EVENT.decode(r.value or b"")))
                        except DecodeError as exc:
                            print(f"undecodable incident event: {exc.reason}")
                        continue
                    try:
                        routing = parse_frame_headers(list(r.headers))
                    except HeaderError:
                        stats.bad_headers += 1
                        continue
                    stats.frames[routing.camera_id] += 1
                    stats.bytes += len(r.value or b"")
            supervisor.check()
            if time.monotonic() - last_report >= REPORT_INTERVAL_S:
                now = time.monotonic()
                print(f"[{now - started:5.0f} s] {stats.report(now - last_report)}", flush=True)
                last_report = now
    finally:
        await consumer.stop()


async def pursuits(config: VigieConfig, passwords: dict[str, str], repeat: bool) -> None:
    """The scripted pursuit, once, or again and again (a pause between) for an open-ended demo,
    given through the room by the pursuing operator's demo officer."""
    started = time.monotonic()
    user = demo_user(scenario.PURSUER)
    saved = await _sign_in(user, passwords[user])
    # The pursuit starts PURSUIT_START_S after the demo's services, however long signing in took.
    delay = max(0.0, PURSUIT_START_S - (time.monotonic() - started))
    with RoomClient(saved) as room:
        while True:
            plan = scenario.pursuit(config, "")
            assert plan is not None
            await scenario.run(room, plan, delay, PURSUIT_STEP_S)
            if not repeat:
                return
            delay = PURSUIT_PAUSE_S


async def _sign_in(user: str, password: str) -> SavedLogin:
    """Sign in to the room the demo started, once it answers (short tries: a try made while
    the room starts must not hold the pursuit back)."""
    deadline = time.monotonic() + ROOM_START_TIMEOUT_S
    while True:
        try:
            return await asyncio.to_thread(
                room_client.login, ROOM_URL, user, password, timeout_s=5.0
            )
        except RoomError as exc:
            if time.monotonic() > deadline:
                raise
            logger.debug("the room does not answer yet: %s", exc)
            await asyncio.sleep(0.5)


ROOM_PORT = 8080
ROOM_URL = f"http://127.0.0.1:{ROOM_PORT}"
ROOM_START_TIMEOUT_S = 30.0


def room_child(config_path: Path, settings: StackSettings) -> Child:
    """The incident room: people sign in, follow incidents, view cameras (audited)."""
    return Child(
        name="room",
        argv=[
            *(sys.executable, "-m", "vigie", "room", "serve"),
            *("--config", str(config_path), "--port", str(ROOM_PORT)),
        ],
        log_file=settings.logs_dir / "room.log",
    )


def run(config_path: Path, seconds: float = 0.0, pursue: bool = True) -> int:
    config = load(config_path)
    settings = StackSettings.from_env()
    was_running = all(s.answers for s in stack.status(settings))
    connection = stack.up(settings)
    asyncio.run(provisioning.provision_all_command(config_path))
    passwords = ensure_demo_users(config, settings.state_dir)
    supervisor = Supervisor(
        [
            *camera_children(config, config_path, settings),
            archiver_child(config, config_path, settings),
            policy_child(config_path, settings),
            audit_archiver_child(settings),
            room_child(config_path, settings),
        ]
    )
    supervisor.start()
    print(_where_to_look(config, settings, passwords), flush=True)
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        until = time.monotonic() + seconds if seconds > 0 else None
        chase = (
            asyncio.create_task(pursuits(config, passwords, repeat=until is None))
            if pursue and scenario.pursuit(config, "probe") is not None
            else None
        )
        if chase is not None and until is not None:
            # End the pursuit (its close revokes every grant) a little before the demo ends,
            # so the revocations show.
            loop.call_later(max(0.0, seconds - CLOSE_BEFORE_END_S), chase.cancel)
        try:
            await watch(connection.kafka_bootstrap, supervisor, until, stop)
        finally:
            if chase is not None:
                chase.cancel()  # closes the incident if it is still open
                await asyncio.gather(chase, return_exceptions=True)

    try:
        asyncio.run(main())
    finally:
        print("stopping the camera adapters...", flush=True)
        supervisor.stop()
        if not was_running:
            print("stopping the stack the demo started...", flush=True)
            stack.down(settings)
    return 0


def room_logins(config: VigieConfig, passwords: Mapping[str, str]) -> list[str]:
    """One line per demo user: who it is for, its name and password (the demo's own, generated
    into the state folder on first run; a real deployment adds its users with `vigie room
    user add`)."""
    rows = [(op.id, demo_user(op.id), "viewer, officer, supervisor") for op in config.operators]
    rows.append((config.operators[0].id, AUDITOR, "auditor"))
    width = max(len(user) for _, user, _ in rows)
    return [
        f"    {user:{width}}  {passwords.get(user, '?'):18}  {operator} ({roles})"
        for operator, user, roles in rows
    ]


def _where_to_look(
    config: VigieConfig, settings: StackSettings, passwords: Mapping[str, str]
) -> str:
    first = config.operators[0].id
    return "\n".join(
        [
            "",
            f"Vigie demo: {len(config.cameras)} simulated cameras of "
            f"{len(config.operators)} operators ({config.region})",
            "",
            f"  Incident room, one page for every operator: {ROOM_URL}/",
            "  sign in there as (user, password, operator and roles; also in"
            f" {passwords_path(settings.state_dir)}):",
            *room_logins(config, passwords),
            "",
            f"  frames, decoded:      vigie tail frames.{first}",
            f"  camera events:        vigie tail camera-events.{first} --from-beginning",
            "  camera registry:      vigie tail cameras --from-beginning",
            f"  room API and docs:    {ROOM_URL}/docs",
            f"  sign in (CLI):        vigie room login --user {demo_user(first)}",
            "  open an incident:     vigie incident open --kind pursuit"
            " --lat 50.8467 --lon 4.3525 --radius 300 --legal-basis '...'",
            "  incidents, grants:    vigie incident list; vigie tail grants --from-beginning",
            f"  shared frames:        vigie tail shared.{first}",
            "  audit:                vigie audit verify; vigie audit report --from 2025-01-01"
            " --to 2100-01-01",
            f"  policy worker log:    {settings.logs_dir}/policy-worker.log",
            f"  audit archiver log:   {settings.logs_dir}/audit-archiver.log",
            "  Kafka tooling:        vigie kafka topics --list",
            "                        vigie kafka consumer-groups --list",
            f"  MinIO (S3 API):       https://{settings.minio_endpoint} (CA: <state>/tls/ca.crt)",
            f"  adapter logs:         {settings.logs_dir}/cameras-*.log",
            "  archive:              vigie archive list --camera <id> --from <t> --to <t>",
            f"  archiver log:         {settings.logs_dir}/archiver.log",
            "  stop:                 Ctrl-C",
            "",
        ]
    )

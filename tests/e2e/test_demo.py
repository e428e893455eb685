"""The user paths of issue 'foundation': `vigie demo --seconds N` shows frames flowing through
Kafka from the simulated cameras of several operators, the incident room it starts shows the
pursuit's shared cameras to the police zone's demo user, `vigie tail` decodes them, and a bad
configuration is refused with the key path of the problem."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from runtime.connection import Connection
from tests.support import run_vigie
from vigie.demo import ROOM_URL
from vigie.demo_users import demo_user, passwords_path

_STIB_CAMERAS = {
    "stib-de-brouckere", "stib-gare-centrale", "stib-parc", "stib-arts-loi", "stib-rogier",
    "stib-schuman", "stib-montgomery", "stib-gare-du-midi",
}  # fmt: skip


POLICE = "police-bruxelles-ixelles"  # the first operator, whose zone the pursuit starts in


def _shared_cameras(room: httpx2.Client) -> set[str]:
    """The other operators' cameras the police zone's demo user sees now, signed in to the
    room the demo started (once it answers and the demo's passwords exist)."""
    if not room.cookies.get("vigie_session"):
        passwords = passwords_path(Path(os.environ["VIGIE_STATE_DIR"]))
        user = demo_user(POLICE)
        password = json.loads(passwords.read_text())[user]
        room.post("/api/session", json={"user": user, "password": password}).raise_for_status()
    answer = room.get("/api/cameras")
    answer.raise_for_status()
    return {c["camera_id"] for c in answer.json() if c["shared"]}


def test_bounded_demo_shows_frames_a_pursuit_shared_live_and_tail_decodes_them(
    live_stack: Connection,
) -> None:
    """The whole pipeline: 24 simulated cameras of 6 operators, the scripted pursuit grants
    STIB's metro cameras to the police zone, whose user sees them in the room while the
    incident is open, and the close revokes them."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "vigie", "demo", "--seconds", "48"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    shared_seen: set[str] = set()
    room = httpx2.Client(base_url=ROOM_URL, timeout=5)
    try:
        deadline = time.monotonic() + 44
        while time.monotonic() < deadline and demo.poll() is None:
            time.sleep(2)
            try:
                shared_seen |= _shared_cameras(room)
            except (httpx2.HTTPError, OSError, KeyError, ValueError):
                continue  # not up yet
        stdout, stderr = demo.communicate(timeout=120)
    finally:
        room.close()
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, stderr[-3000:]
    assert "CAMERA_GRANTED stib-de-brouckere" in stdout, stdout[-3000:]
    assert "CAMERA_REVOKED stib-de-brouckere (incident closed)" in stdout
    assert shared_seen
    assert shared_seen <= _STIB_CAMERAS, shared_seen
    assert f"{ROOM_URL}/" in stdout
    assert demo_user(POLICE) in stdout
    demo_out = stdout
    rates = re.findall(r"([\d.]+) frames/s from (\d+) cameras", demo_out)
    assert rates, demo_out
    # The example has 24 cameras of 6 operators, all simulated; after start-up all report.
    assert max(int(cams) for _, cams in rates) == 24
    assert max(float(fps) for fps, _ in rates) > 50

    tail = run_vigie("tail", "frames.stib", "--from-beginning", "--limit", "5", "--timeout", "20")
    assert tail.returncode == 0, tail.stderr[-3000:]
    lines = [line for line in tail.stdout.splitlines() if " frame " in line]
    assert len(lines) == 5
    assert all(re.search(r"frame stib-[\w-]+ #\d+ \d+x\d+ JPEG \d+ B", line) for line in lines)

    registry = run_vigie("tail", "cameras", "--from-beginning", "--limit", "24", "--timeout", "20")
    assert registry.stdout.count("Camera camera_id=") == 24


def test_demo_leaves_the_stack_it_found_running(live_stack: Connection) -> None:
    """The demo stops only what it started: a stack already up stays up."""
    status = run_vigie("stack", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count(" up ") == 2


def test_bad_configuration_is_refused_with_file_and_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "region: Test\n"
        "operators:\n"
        "  - {id: police-x, name: Police X, kind: police, retention_days: 400}\n"
        "profiles: []\n"
        "cameras: []\n"
        "colour: blue\n"
    )
    result = run_vigie("config", "check", str(bad))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr
    assert "operators[0].retention_days" in result.stderr
    assert "colour" in result.stderr
    assert "Traceback" not in result.stderr

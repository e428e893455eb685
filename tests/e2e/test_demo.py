"""The user paths of issue 'foundation': `vigie demo --seconds N` shows frames flowing through
Kafka from the simulated cameras of several operators, `vigie tail` decodes them, and a bad
configuration is refused with the key path of the problem."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from infra.local.settings import Connection


def _vigie(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=timeout,
        check=False,
    )


def test_bounded_demo_shows_frames_of_every_camera_then_tail_decodes_them(
    live_stack: Connection,
) -> None:
    demo = _vigie("demo", "--seconds", "20")
    assert demo.returncode == 0, demo.stderr[-3000:]
    rates = re.findall(r"([\d.]+) frames/s from (\d+) cameras", demo.stdout)
    assert rates, demo.stdout
    # The example has 24 cameras of 6 operators, all simulated; after start-up all report.
    assert max(int(cams) for _, cams in rates) == 24
    assert max(float(fps) for fps, _ in rates) > 50

    tail = _vigie("tail", "frames.stib", "--from-beginning", "--limit", "5", "--timeout", "20")
    assert tail.returncode == 0, tail.stderr[-3000:]
    lines = [line for line in tail.stdout.splitlines() if " frame " in line]
    assert len(lines) == 5
    assert all(re.search(r"frame stib-[\w-]+ #\d+ \d+x\d+ JPEG \d+ B", line) for line in lines)

    registry = _vigie("tail", "cameras", "--from-beginning", "--limit", "24", "--timeout", "20")
    assert registry.stdout.count("Camera camera_id=") == 24


def test_demo_leaves_the_stack_it_found_running(live_stack: Connection) -> None:
    """The demo stops only what it started: a stack already up stays up."""
    status = _vigie("stack", "status")
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
    result = _vigie("config", "check", str(bad))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr
    assert "operators[0].retention_days" in result.stderr
    assert "colour" in result.stderr
    assert "Traceback" not in result.stderr

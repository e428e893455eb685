"""A user error on a `vigie` command prints one line that says what is wrong, never a
traceback, and exits with the code the README lists (2: the command could not run as asked)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def _vigie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else os.environ.copy(),
        timeout=120,
        check=False,
    )


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")
"""Progress lines of the command's own log (what it was doing), not part of the error."""


def _one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    lines = [
        line for line in result.stderr.splitlines() if line.strip() and not LOG_LINE.match(line)
    ]
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vigie: ")
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_a_missing_configuration_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    _one_line_error(_vigie("config", "check", str(missing)), str(missing))
    _one_line_error(_vigie("cameras", "run", "--config", str(missing)), str(missing))


def test_an_unknown_operator(kafka_bootstrap: str) -> None:
    result = _vigie("cameras", "run", "--operator", "polise-x", "--seconds", "1")
    _one_line_error(result, "unknown operator(s) polise-x", "stib")


def test_a_missing_topic(kafka_bootstrap: str) -> None:
    result = _vigie("tail", "frames.nobody-here", "--timeout", "1")
    _one_line_error(result, "topic frames.nobody-here does not exist", "vigie provision")


def test_the_stack_not_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env["VIGIE_STATE_DIR"] = str(tmp_path / "state")
    for args in (("audit", "verify"), ("tail", "incidents")):
        _one_line_error(_vigie(*args, env=env), "is the stack running", "vigie stack up")


def test_not_signed_in_to_the_room(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env["VIGIE_STATE_DIR"] = str(tmp_path / "state")
    for args in (("incident", "list"), ("archive", "list", "--camera", "c", "--from",
                 "2026-12-01T00:00Z", "--to", "2026-12-01T01:00Z")):  # fmt: skip
        _one_line_error(_vigie(*args, env=env), "not signed in to the room", "vigie room login")


def _path_without(tool: str, scratch: Path) -> str:
    """PATH where `tool` cannot be found: each folder holding it is replaced by a folder of
    links to everything else in it."""
    folders = []
    for i, folder in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        here = Path(folder)
        if not (here / tool).exists():
            folders.append(folder)
            continue
        copy = scratch / f"path-{i}"
        copy.mkdir(parents=True)
        for entry in here.iterdir():
            if entry.name != tool:
                (copy / entry.name).symlink_to(entry)
        folders.append(str(copy))
    return os.pathsep.join(folders)


@pytest.mark.parametrize(
    ("missing", "expected"),
    [("go", "Go is not on PATH"), ("java", "java is not on PATH"), ("mvn", "Maven (mvn)")],
)
def test_a_build_tool_missing(tmp_path: Path, missing: str, expected: str) -> None:
    path = _path_without(missing, tmp_path)
    assert shutil.which(missing, path=path) is None
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        PATH=path,
        VIGIE_STATE_DIR=str(tmp_path / "state"),
        VIGIE_CACHE_DIR=str(tmp_path / "cache"),  # nothing built yet: the tool is needed
        VIGIE_KAFKA_PORT="29092",
        VIGIE_KAFKA_CONTROLLER_PORT="29093",
        VIGIE_MINIO_PORT="29000",
        VIGIE_MINIO_CONSOLE_PORT="29001",
    )
    result = _vigie("stack", "up", "--timeout", "5", env=env)
    try:
        _one_line_error(result, expected)
    finally:
        _vigie("stack", "down", env=env)

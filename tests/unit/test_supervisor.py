"""The demo supervisor's restart delay: doubling in a crash loop, reset after a healthy run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from vigie.supervisor import (
    HEALTHY_RUN_S,
    MAX_RESTART_DELAY_S,
    Child,
    Supervisor,
    restart_delay,
)


def test_delay_doubles_while_the_child_keeps_crashing() -> None:
    delays = []
    restarts = 0
    for _ in range(8):
        restarts, delay = restart_delay(restarts, ran_for_s=0.5)
        delays.append(delay)
        restarts += 1
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_RESTART_DELAY_S, 30.0, 30.0]


@pytest.mark.parametrize("ran_for_s", [HEALTHY_RUN_S, HEALTHY_RUN_S + 1, 6 * 3600.0])
def test_a_healthy_run_resets_the_delay(ran_for_s: float) -> None:
    assert restart_delay(12, ran_for_s) == (0, 1.0)


def test_a_short_run_keeps_the_count() -> None:
    assert restart_delay(3, HEALTHY_RUN_S - 0.1) == (3, 8.0)


def test_supervisor_restarts_a_long_healthy_child_after_the_first_delay(tmp_path: Path) -> None:
    child = Child("svc", [sys.executable, "-c", "pass"], tmp_path / "svc.log")
    supervisor = Supervisor([child])
    supervisor.start()
    assert child.process is not None
    child.process.wait(timeout=30)
    # As if it had crashed ten times in a row long ago, then ran for an hour before exiting.
    child.restarts = 10
    child.started_at = time.monotonic() - 3600
    before = time.monotonic()
    supervisor.check()
    assert child.restarts == 0
    assert child.next_start - before == pytest.approx(1.0, abs=0.5)


def test_supervisor_keeps_doubling_for_a_child_that_crashes_at_once(tmp_path: Path) -> None:
    child = Child("svc", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "svc.log")
    supervisor = Supervisor([child])
    supervisor.start()
    assert child.process is not None
    child.process.wait(timeout=30)
    child.restarts = 3
    before = time.monotonic()
    supervisor.check()
    assert child.restarts == 3
    assert child.next_start - before == pytest.approx(8.0, abs=0.5)
    supervisor.stop()

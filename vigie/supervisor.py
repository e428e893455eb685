"""Run the demo's services as child processes and restart what dies (with a growing delay).

The delay doubles with each restart in a row, up to MAX_RESTART_DELAY_S, and starts again from
1 s once a child has run healthily for HEALTHY_RUN_S: a crash after hours of running is not
treated like the tenth crash of a crash loop.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_RESTART_DELAY_S = 30.0
# A child that ran this long before exiting was healthy: its next restart waits the first delay.
HEALTHY_RUN_S = 60.0


def restart_delay(restarts: int, ran_for_s: float) -> tuple[int, float]:
    """The restart count to keep and the delay before the next start, for a child that exited
    after `ran_for_s` seconds having been restarted `restarts` times in a row so far."""
    if ran_for_s >= HEALTHY_RUN_S:
        restarts = 0
    return restarts, min(MAX_RESTART_DELAY_S, 2.0**restarts)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.started_at = time.monotonic()
        logger.info("%s started (pid %d), log %s", self.name, self.process.pid, self.log_file)


class Supervisor:
    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)

    def start(self) -> None:
        for child in self.children:
            child.start()

    def check(self) -> None:
        """Restart children that exited, each after a delay that doubles with every restart in a
        row (reset after a healthy run, see restart_delay)."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.next_start == 0.0:
                child.restarts, delay = restart_delay(child.restarts, now - child.started_at)
                child.next_start = now + delay
                logger.warning(
                    "%s exited with %s; restarting in %.0f s (see %s)",
                    child.name,
                    child.process.returncode,
                    delay,
                    child.log_file,
                )
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start()

    def stop(self, timeout_s: float = 20.0) -> None:
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time, killing it", child.name)
                child.process.kill()
                child.process.wait()

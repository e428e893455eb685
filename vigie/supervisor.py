"""Run the demo's services as child processes and restart what dies (with a growing delay)."""

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


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        logger.info("%s started (pid %d), log %s", self.name, self.process.pid, self.log_file)


class Supervisor:
    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)

    def start(self) -> None:
        for child in self.children:
            child.start()

    def check(self) -> None:
        """Restart children that exited, each after a delay that doubles with every restart."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.next_start == 0.0:
                delay = min(MAX_RESTART_DELAY_S, 2.0**child.restarts)
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

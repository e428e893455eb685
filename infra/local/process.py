"""Start and stop background services by pid file, idempotently.

A pid file alone can lie (the pid may have been reused after a reboot), so a process counts as
ours only if its command line still carries the marker it was started with.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    pid_file: Path
    log_file: Path
    marker: str  # a string that must appear in /proc/<pid>/cmdline

    def pid(self) -> int | None:
        """The pid of the running service, or None (stale pid files are removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _cmdline(pid) is None or self.marker not in (_cmdline(pid) or ""):
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        running = self.pid()
        if running is not None:
            return running
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # A new session: the service outlives the CLI that started it and ignores its Ctrl-C.
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        logger.info("%s started, pid %d, log %s", self.name, proc.pid, self.log_file)
        return proc.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the service politely, then by force. Returns True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _cmdline(pid) is None:
                break
            time.sleep(0.2)
        else:
            logger.warning(
                "%s (pid %d) ignored SIGTERM for %.0f s, killing", self.name, pid, timeout_s
            )
            _signal(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        logger.info("%s stopped (pid %d)", self.name, pid)
        return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _cmdline(pid: int) -> str | None:
    """The process's command line, or None if it is gone or a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if "\nState:\tZ" in status:
        _reap(pid)
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _reap(pid: int) -> None:
    # Our own child that died: collect it so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

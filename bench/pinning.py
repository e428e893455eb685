"""Pinning processes to cores (Linux), so that a benchmark on one machine measures a client as
if the services it talks to ran on hosts of their own: the services on one core, the measured
client on another, neither taking the other's time.

A process's affinity is per thread: ``sched_setaffinity`` on a pid sets only the thread of that
id, and a thread inherits its creator's affinity when it starts. So a running service is pinned
thread by thread (every id under ``/proc/<pid>/task``), and the threads it starts afterwards
inherit from the pinned ones; :meth:`Pinning.apply` can be called again to catch a thread that
slipped between the listing and the setting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

__all__ = ["Pinning", "pin_process", "threads_outside", "two_cpus"]

logger = logging.getLogger(__name__)


def two_cpus() -> tuple[int, int]:
    """Two CPUs this process may run on (the services', the client's); SystemExit if fewer."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        raise SystemExit(
            f"this benchmark pins the services and the client to separate CPUs; it may run on "
            f"{len(available)} CPU here ({available}): it needs at least 2"
        )
    return available[0], available[1]


def thread_ids(pid: int) -> list[int]:
    """The ids of the process's threads (empty if it has exited)."""
    try:
        return [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:
        return []


def _set(tid: int, cpus: set[int]) -> bool:
    """Pin one thread; False if it has exited meanwhile."""
    try:
        os.sched_setaffinity(tid, cpus)
    except ProcessLookupError:
        return False
    return True


def pin_process(pid: int, cpus: set[int]) -> int:
    """Pin every thread of ``pid`` to ``cpus``; the number of threads pinned."""
    return sum(_set(tid, cpus) for tid in thread_ids(pid))


def threads_outside(pid: int, cpus: set[int]) -> list[str]:
    """The threads of ``pid`` allowed to run elsewhere than ``cpus`` (name and affinity)."""
    outside = []
    for tid in thread_ids(pid):
        try:
            allowed = os.sched_getaffinity(tid)
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except (ProcessLookupError, FileNotFoundError):
            continue
        if allowed != cpus:
            outside.append(f"{name}[{tid}] on {sorted(allowed)}")
    return outside


class Pinning:
    """Pins processes' threads to ``cpus`` and restores each thread's previous affinity on exit
    (a thread started meanwhile gets its process's first affinity back), so that the services
    are not left pinned after the benchmark."""

    def __init__(self, pids: Iterable[int], cpus: set[int]) -> None:
        self.pids = list(pids)
        self.cpus = set(cpus)
        self._saved: dict[int, dict[int, set[int]]] = {}

    def apply(self) -> None:
        """Pin every thread; a thread started since the last call (which inherited the pinned
        affinity of its creator) is remembered with its process's affinity from before."""
        for pid in self.pids:
            first = pid not in self._saved
            saved = self._saved.setdefault(pid, {})
            for tid in thread_ids(pid):
                if tid not in saved:
                    try:
                        saved[tid] = os.sched_getaffinity(tid) if first else self._before(pid)
                    except ProcessLookupError:
                        continue
                _set(tid, self.cpus)

    def _before(self, pid: int) -> set[int]:
        """The process's affinity before the first pinning (its main thread's)."""
        saved = self._saved[pid]
        return saved.get(pid) or next(iter(saved.values()), set(range(os.cpu_count() or 1)))

    def restore(self) -> None:
        for pid, saved in self._saved.items():
            if not saved:
                continue
            before = self._before(pid)
            restored = sum(_set(tid, saved.get(tid, before)) for tid in thread_ids(pid))
            logger.info("pid %d: affinity of %d threads restored", pid, restored)
        self._saved.clear()

    def __enter__(self) -> Pinning:
        self.apply()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.restore()

"""CPU seconds used by the local services and by this process over a measured interval (Linux
/proc), so that a benchmark can say where the machine's time went, not only how long it took."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.local import kafka, minio
from infra.local.settings import StackSettings

__all__ = ["CpuMeter", "CpuUse", "stack_pids"]

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuUse:
    wall_s: float
    processes: Mapping[str, float]
    """CPU seconds of each named process (all its threads), this process as ``"client"``."""
    machine_busy: float
    """Share of all cores busy (any process) over the interval, 0 to 1."""
    core_busy: Mapping[int, float]
    """Share of each core busy (any process) over the interval, 0 to 1, by CPU number."""
    client_threads: Mapping[str, float] = field(default_factory=dict)
    """CPU seconds of this process's threads, summed by role (``CpuMeter``'s ``role``)."""


def stack_pids(settings: StackSettings) -> dict[str, int]:
    """The pids of the stack's MinIO and Kafka, and of this process."""
    pids = {"client": os.getpid()}
    for name, process in (("MinIO", minio.process(settings)), ("Kafka", kafka.process(settings))):
        pid = process.pid()
        if pid is not None:
            pids[name] = pid
    return pids


def _process_ticks(pid: int) -> int:
    # Fields after the command name (which may hold spaces): utime and stime are 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _machine_ticks() -> dict[int, tuple[int, int]]:
    """(busy, total) ticks since boot of all cores (key -1) and of each core (its number)."""
    ticks = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu"):
            break
        values = [int(v) for v in fields]
        idle = values[3] + values[4]  # idle, iowait
        ticks[int(name[3:]) if name != "cpu" else -1] = (sum(values) - idle, sum(values))
    return ticks


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def _own_threads() -> dict[tuple[int, int], tuple[str, int]]:
    """(name, CPU ticks) of each live thread of this process, by (thread id, start time: an id
    may be reused): the Python name of a Python thread (``MainThread``, a pool's prefix...),
    else the OS name (librdkafka's ``rdk:...``)."""
    python_names = {t.native_id: t.name for t in threading.enumerate()}
    threads = {}
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # ended meanwhile
            continue
        tid = int(task.name)
        os_name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        threads[(tid, int(fields[19]))] = (
            python_names.get(tid, os_name),
            int(fields[11]) + int(fields[12]),
        )
    return threads


class CpuMeter:
    """CPU seconds of named processes (and of this process's threads by role) over an
    interval. A thread that ends within the interval is not counted by role (its process
    total still is): measure while the threads of interest live."""

    def __init__(self, pids: Mapping[str, int], role: Callable[[str], str] | None = None) -> None:
        self.pids = dict(pids)
        self.role = role
        self._start: tuple[float, dict[str, int], dict[int, tuple[int, int]]] | None = None
        self._threads: dict[tuple[int, int], tuple[str, int]] = {}
        self.result: CpuUse | None = None

    def start(self) -> None:
        ticks = {name: _process_ticks(pid) for name, pid in self.pids.items()}
        self._threads = _own_threads() if self.role else {}
        self._start = (time.monotonic(), ticks, _machine_ticks())

    def stop(self) -> CpuUse:
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        started, ticks, machine = self._start
        now = _machine_ticks()
        by_role: dict[str, float] = {}
        if self.role is not None:
            for thread, (name, spent) in _own_threads().items():
                # A thread started within the interval had spent nothing at its start.
                role = self.role(name)
                before = self._threads.get(thread, (name, 0))[1]
                by_role[role] = by_role.get(role, 0.0) + (spent - before) * _TICK_S
        self.result = CpuUse(
            wall_s=time.monotonic() - started,
            processes={
                name: (_process_ticks(pid) - ticks[name]) * _TICK_S
                for name, pid in self.pids.items()
            },
            machine_busy=_busy(machine[-1], now[-1]),
            core_busy={cpu: _busy(machine[cpu], now[cpu]) for cpu in machine if cpu >= 0},
            client_threads=dict(by_role),
        )
        return self.result

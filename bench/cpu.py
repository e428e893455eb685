"""CPU seconds used by the local services and by this process over a measured interval (Linux
/proc), so that a benchmark can say where the machine's time went, not only how long it took."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
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


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all cores since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._start: tuple[float, dict[str, int], tuple[int, int]] | None = None
        self.result: CpuUse | None = None

    def start(self) -> None:
        ticks = {name: _process_ticks(pid) for name, pid in self.pids.items()}
        self._start = (time.monotonic(), ticks, _machine_ticks())

    def stop(self) -> CpuUse:
        if self._start is None:
            raise RuntimeError("CpuMeter.stop() before start()")
        started, ticks, (busy0, total0) = self._start
        busy1, total1 = _machine_ticks()
        self.result = CpuUse(
            wall_s=time.monotonic() - started,
            processes={
                name: (_process_ticks(pid) - ticks[name]) * _TICK_S
                for name, pid in self.pids.items()
            },
            machine_busy=(busy1 - busy0) / max(1, total1 - total0),
        )
        return self.result

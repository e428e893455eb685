"""The archive benchmark pins MinIO's and Kafka's threads to one CPU and must leave them as it
found them, threads started meanwhile included (they inherit the pinned affinity)."""

from __future__ import annotations

import os
import threading

import pytest

from bench.pinning import Pinning, thread_ids, threads_outside


def _affinities(pid: int) -> set[frozenset[int]]:
    return {frozenset(os.sched_getaffinity(tid)) for tid in thread_ids(pid)}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to pin to one")
def test_every_thread_gets_its_affinity_back_even_one_started_while_pinned() -> None:
    pid = os.getpid()
    before = os.sched_getaffinity(0)
    one = {min(before)}
    release = threading.Event()
    pinning = Pinning([pid], one)
    try:
        pinning.apply()
        assert threads_outside(pid, one) == []
        late = threading.Thread(target=release.wait)  # inherits the pinned affinity
        late.start()
        pinning.apply()
        pinning.restore()
        assert _affinities(pid) == {frozenset(before)}
    finally:
        release.set()
        for tid in thread_ids(pid):
            os.sched_setaffinity(tid, before)

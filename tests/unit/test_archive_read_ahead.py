"""The archiver's read-ahead wait: reading pauses while enough closed chunks wait for a store
worker, and resumes when a worker takes one, when the wait times out, or at once on a stop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import certifi
import pytest
from minio import Minio

from consumers.archive.archiver import Archiver, ArchiverSettings
from consumers.archive.chunker import Chunk


@pytest.fixture(autouse=True)
def _kafka_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    # The archiver's clients are built (never started): they need a principal and CA file.
    monkeypatch.setenv("VIGIE_KAFKA_USERNAME", "vigie-archiver")
    monkeypatch.setenv("VIGIE_KAFKA_PASSWORD", "unused")
    monkeypatch.setenv("VIGIE_KAFKA_CA", certifi.where())


@contextlib.asynccontextmanager
async def _archiver(wait_s: float) -> AsyncIterator[Archiver]:
    """An archiver (never started: nothing connects) with two closed chunks waiting, so
    that reading holds back (``read_ahead_chunks`` 2)."""
    settings = ArchiverSettings(
        bootstrap="127.0.0.1:1", read_ahead_chunks=2, read_ahead_wait_s=wait_s
    )
    archiver = Archiver(settings, Minio("127.0.0.1:1", secure=False))
    for start in range(2):
        archiver._enqueue(Chunk("op", "cam", "frames.op", 0, start * 1_000_000, 1_000_000))
    try:
        yield archiver
    finally:
        await archiver.producer.stop()
        archiver._pool.shutdown()


async def test_a_stop_ends_the_read_ahead_wait_at_once() -> None:
    async with _archiver(wait_s=30.0) as archiver:
        stop = asyncio.Event()
        waiting = asyncio.create_task(archiver._let_stores_catch_up(stop))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # two chunks wait: reading holds back
        stop.set()
        await asyncio.wait_for(waiting, 5.0)  # not the 30 s of the read-ahead wait


async def test_a_worker_taking_a_chunk_lets_reading_go_on() -> None:
    async with _archiver(wait_s=30.0) as archiver:
        waiting = asyncio.create_task(archiver._let_stores_catch_up(asyncio.Event()))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        archiver._queue.get_nowait()  # what a store worker does, then it signals
        archiver._taken.set()
        await asyncio.wait_for(waiting, 5.0)


async def test_reading_goes_on_after_the_wait_even_if_no_worker_takes_a_chunk() -> None:
    async with _archiver(wait_s=0.2) as archiver:
        started = time.monotonic()
        await asyncio.wait_for(archiver._let_stores_catch_up(asyncio.Event()), 5.0)
        assert time.monotonic() - started >= 0.15  # it did wait for a worker first
        assert archiver.waiting_chunks == 2

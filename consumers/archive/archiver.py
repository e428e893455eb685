"""The archiver: a Kafka consumer group on every ``frames.<operator>`` topic writing chunks to
MinIO, with offsets committed only once the chunks holding them are stored.

The loop is thin: read a batch, hand each frame to the pure :class:`Chunker`, queue the chunks
it closes, commit what :func:`commit_offsets` allows. Store workers encode a chunk and put its
video and manifest (in a thread), then hand it to an announcing task and take the next chunk:
the task announces it on ``archive-chunks`` and only then lets the commit move past it, so a
worker never idles on a Kafka acknowledgement. See ``chunker.py`` for why a restart at any
moment neither loses nor duplicates a frame.

- MinIO down or refusing: the worker retries with a growing delay and the loop pauses every
  partition, so Kafka keeps the frames until MinIO is back; too many chunks waiting to be
  stored pause it as well.
- A message that is not a frame (bad headers, bad Avro, a camera id that cannot be an object
  key, an operator that is not the topic's) and a frame whose JPEG cannot be decoded go to
  ``dead-letter`` with the reason; offsets still advance.
- SIGTERM: the open chunks are closed and stored, the offsets committed, then it exits.
- Losing partitions in a rebalance: their open chunks are stored first (bounded wait).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from minio import Minio

from consumers.archive import manifest as manifests
from consumers.archive.chunker import (
    DEFAULT_IDLE_S,
    DEFAULT_WINDOW_S,
    ArchivedFrame,
    Chunk,
    Chunker,
    Source,
    commit_offsets,
    us_to_datetime,
    without_stored,
)
from consumers.archive.encode import encode_chunk
from consumers.archive.frame_reader import (
    CommitRefused,
    ConsumedRecord,
    FrameReader,
    ReaderSettings,
)
from consumers.archive.store import STORE_ERRORS, ChunkStore
from runtime import kafka_clients
from schemas.codec import ARCHIVE_CHUNK, DEAD_LETTER, FRAME, DecodeError
from schemas.config import ArchiveProfile
from schemas.dead_letters import dead_letter_for
from schemas.errors import VigieError
from schemas.headers import HeaderError, frame_headers, parse_frame_headers, to_epoch_us
from schemas.placement import foreign_camera
from schemas.records import DeadLetter, Frame, FrameEncoding
from schemas.storage import is_key_safe_id
from schemas.topics import (
    ARCHIVE_CHUNKS,
    FRAMES_PATTERN,
    frames_topic,
    operator_of,
)
from schemas.topics import DEAD_LETTER as DEAD_LETTER_TOPIC

__all__ = ["STAGE", "Archiver", "ArchiverSettings", "run"]

logger = logging.getLogger(__name__)

STAGE = "archive"
DEFAULT_GROUP = "vigie-archiver"
READ_BATCH = 500
"""Frames read at a time: the read-ahead bound is checked between batches."""


@dataclass(frozen=True)
class ArchiverSettings:
    bootstrap: str
    group_id: str = DEFAULT_GROUP
    window_s: int = DEFAULT_WINDOW_S
    idle_s: float = DEFAULT_IDLE_S
    profiles: Mapping[str, ArchiveProfile] = field(default_factory=dict)
    """Archive profile per operator; others get ``default_profile``."""
    default_profile: ArchiveProfile = ArchiveProfile.H264
    store_workers: int = 4
    """Chunks stored in parallel: MinIO answers a PUT in 15-20 ms here, so one writer at a
    time leaves it idle; 4 is what bench/archive_bench.py measures (8 gained ~5 %)."""
    max_unstored_chunks: int = 400
    """More closed chunks than this waiting for MinIO pauses consumption."""
    read_ahead_chunks: int = 4
    """Closed chunks waiting for a store worker before the archiver reads on. Reading and
    chunking keep the event loop busy, and the store workers' threads then wait for the GIL at
    every TLS write of their PUTs: on a backlog the archiver read every frame before it stored
    any, then stored with MinIO busy and its own CPU half idle. Bounded, the two overlap."""
    read_ahead_wait_s: float = 0.5
    """The longest it waits for the store workers before reading anyway (commits, idle closes
    and the consumer's polls go on; a MinIO that refuses is ``max_unstored_chunks``' case)."""
    commit_interval_s: float = 1.0
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0
    shutdown_timeout_s: float = 60.0
    session_timeout_ms: int = 10_000
    operators: tuple[str, ...] = ()
    """Archive only these operators' frames (default: every ``frames.*`` topic)."""
    owners: Mapping[str, str] = field(default_factory=dict)
    """Configured camera -> its operator: a frame naming another operator's camera is refused
    (the router, which reads only shared cameras, no longer sees every frame)."""

    @property
    def subscription(self) -> list[str]:
        """The topics read: the operators' own, else every ``frames.*`` topic (a pattern)."""
        if not self.operators:
            return [FRAMES_PATTERN]
        return [frames_topic(op) for op in sorted(self.operators)]


@dataclass(frozen=True, slots=True)
class _Stored:
    manifests: list[dict[str, Any]]
    """Manifests to announce: the chunk's, and those a replay found already stored."""
    rejected: list[tuple[ArchivedFrame, str]]


class _Rejected(VigieError):
    """A message the archiver cannot archive; it goes to dead-letter."""

    def __init__(self, error_kind: str, reason: str) -> None:
        super().__init__(reason)
        self.error_kind = error_kind
        self.reason = reason


def to_archived_frame(
    record: ConsumedRecord, owners: Mapping[str, str] | None = None
) -> ArchivedFrame:
    """The frame in a ``frames.<operator>`` record; _Rejected with the reason if it is not one
    (`owners`: the configured cameras' operators, a camera of another operator refused)."""
    try:
        routing = parse_frame_headers(record.headers)
        frame = FRAME.decode(record.value or b"")
    except HeaderError as exc:
        raise _Rejected("HeaderError", str(exc)) from exc
    except DecodeError as exc:
        raise _Rejected("DecodeError", exc.reason) from exc
    topic_operator = operator_of(record.topic)
    if frame.operator != topic_operator or routing.operator != topic_operator:
        raise _Rejected(
            "WrongOperator",
            f"frame of operator {frame.operator!r} on {record.topic} (headers say"
            f" {routing.operator!r})",
        )
    foreign = foreign_camera(frame.camera_id, record.topic, owners or {})
    if foreign is not None:
        raise _Rejected("ForeignCamera", foreign)
    if frame.camera_id != routing.camera_id or not is_key_safe_id(frame.camera_id):
        raise _Rejected(
            "BadCameraId",
            f"camera id {frame.camera_id[:80]!r} (headers say {routing.camera_id[:80]!r}) is"
            " not a valid camera id or differs from the headers",
        )
    return ArchivedFrame(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        operator=frame.operator,
        camera_id=frame.camera_id,
        sequence=frame.sequence,
        capture_us=to_epoch_us(frame.capture_time),
        width=frame.width,
        height=frame.height,
        image=frame.image,
    )


class Archiver:
    def __init__(self, settings: ArchiverSettings, minio: Minio) -> None:
        self.settings = settings
        self.store = ChunkStore(minio)
        self.chunker = Chunker(settings.window_s, settings.idle_s)
        self.reader = FrameReader(
            ReaderSettings(
                bootstrap=settings.bootstrap,
                group_id=settings.group_id,
                client_id="vigie-archiver",
                subscription=settings.subscription,
                session_timeout_ms=settings.session_timeout_ms,
                metadata_refresh_ms=30_000,  # new operators' topics are picked up within 30 s
            ),
            on_assigned=self.on_partitions_assigned,
            on_revoked=self.on_partitions_revoked,
        )
        self.producer = kafka_clients.producer(settings.bootstrap, client_id="vigie-archiver")
        self._pool = ThreadPoolExecutor(
            max_workers=settings.store_workers, thread_name_prefix="archive-store"
        )
        self._queue: asyncio.Queue[Chunk] = asyncio.Queue()
        self._taken = asyncio.Event()  # a store worker took a chunk from the queue
        self._announcing: set[asyncio.Task[None]] = set()
        self._unstored: dict[int, Chunk] = {}
        self._positions: dict[Source, int] = {}
        self._last_record: dict[Source, float] = {}
        self._replay_end: dict[Source, int] = {}
        self._committed: dict[Source, int] = {}
        self._failing: Counter[Source] = Counter()
        self._attempts: dict[int, int] = {}
        self._dropped: dict[int, Chunk] = {}  # holds the chunk so that its id stays unique
        self._paused: set[Source] = set()
        self.stored_chunks = 0
        self.stored_frames = 0
        self.stored_bytes = 0

    @property
    def waiting_chunks(self) -> int:
        """Closed chunks waiting for a store worker."""
        return self._queue.qsize()

    @property
    def paused_partitions(self) -> frozenset[Source]:
        """Partitions not read right now because their chunks wait for MinIO."""
        return frozenset(self._paused)

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        await self.producer.start()
        try:
            await self.reader.start()
            workers = [
                asyncio.create_task(self._worker(), name=f"archive-store-{i}")
                for i in range(self.settings.store_workers)
            ]
            try:
                await self._consume(stop)
                await self._flush(
                    self.chunker.drain(),
                    {c.source for c in self._unstored.values()} | set(self._positions),
                    self.settings.shutdown_timeout_s,
                )
                await self._commit()
            finally:
                tasks = [*workers, *self._announcing]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self.reader.stop()
        finally:
            await self.producer.stop()
            self._pool.shutdown(wait=False, cancel_futures=True)
        logger.info(
            "archiver stopped: %d chunks, %d frames, %.1f MB stored",
            self.stored_chunks,
            self.stored_frames,
            self.stored_bytes / 1e6,
        )

    async def _consume(self, stop: asyncio.Event) -> None:
        last_commit = time.monotonic()
        while not stop.is_set():
            await self._backpressure()
            await self._let_stores_catch_up(stop)
            records = await self.reader.getmany(timeout_s=0.2, max_records=READ_BATCH)
            now = time.monotonic()
            for record in records:
                await self._ingest(record, now)
            for chunk in self.chunker.idle(self._partition_clocks(now)):
                self._enqueue(chunk)
            if now - last_commit >= self.settings.commit_interval_s:
                await self._commit()
                last_commit = now

    async def _ingest(self, record: ConsumedRecord, now: float) -> None:
        source = (record.topic, record.partition)
        try:
            frame = to_archived_frame(record, self.settings.owners)
        except _Rejected as exc:
            logger.warning(
                "dead-letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc
            )
            await self._dead_letter(record, exc.error_kind, exc.reason)
        else:
            for chunk in self.chunker.add(frame, now):
                self._enqueue(chunk)
        self._positions[source] = record.offset + 1
        self._last_record[source] = now

    def _partition_clocks(self, now: float) -> dict[Source, float]:
        """How far in time each partition has been read: ``now`` once read up to its end,
        else when its last record arrived (see Chunker.idle)."""
        return {
            source: now if self.reader.at_end(source) else self._last_record.get(source, now)
            for source in self.reader.assignment()
        }

    async def _let_stores_catch_up(self, stop: asyncio.Event) -> None:
        """Wait (briefly) while enough closed chunks wait for the store workers."""
        deadline = time.monotonic() + self.settings.read_ahead_wait_s
        while self._queue.qsize() >= self.settings.read_ahead_chunks and not stop.is_set():
            self._taken.clear()
            # A stop ends the wait at once: SIGTERM then drains and commits without delay.
            waits = {asyncio.create_task(self._taken.wait()), asyncio.create_task(stop.wait())}
            try:
                done, _ = await asyncio.wait(
                    waits,
                    timeout=deadline - time.monotonic(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for wait in waits:  # also when this wait is itself cancelled
                    wait.cancel()
            if not done:
                return

    async def _backpressure(self) -> None:
        """Pause the partitions whose chunks MinIO refuses (all of them when too many chunks
        wait); resume them once their chunks are stored. Kafka keeps the frames meanwhile."""
        assigned = self.reader.assignment()
        if len(self._unstored) >= self.settings.max_unstored_chunks:
            want = set(assigned)
        else:
            want = {source for source in assigned if self._failing[source] > 0}
        pause = want - self._paused
        resume = self._paused - want
        if pause:
            logger.warning(
                "pausing %d partitions: %d chunks wait for MinIO", len(pause), len(self._unstored)
            )
            await self.reader.pause(pause)
        if resume:
            logger.info("resuming %d partitions", len(resume))
            await self.reader.resume(resume & assigned)
        self._paused = want

    # ------------------------------------------------------------------ storing

    def _enqueue(self, chunk: Chunk) -> None:
        self._unstored[id(chunk)] = chunk
        self._queue.put_nowait(chunk)

    async def _worker(self) -> None:
        while True:
            chunk = await self._queue.get()
            self._taken.set()
            if self._dropped.pop(id(chunk), None) is not None:
                continue
            stored = await self._store(chunk)
            if stored is None:
                continue
            task = asyncio.create_task(self._finish(chunk, stored))
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _finish(self, chunk: Chunk, stored: _Stored) -> None:
        """Announce a stored chunk, then let the commit move past it."""
        await self._announce(chunk, stored)
        if self._dropped.pop(id(chunk), None) is None:
            self._unstored.pop(id(chunk), None)

    async def _store(self, chunk: Chunk) -> _Stored | None:
        """Store one chunk; None (and a retry scheduled with a growing delay) if MinIO fails
        or the chunk was given up meanwhile.

        A failing chunk does not hold its worker: chunks of other operators (another bucket)
        keep flowing while only the failing chunk's partition is paused."""
        loop = asyncio.get_running_loop()
        attempts = self._attempts.get(id(chunk), 0)
        try:
            result = await loop.run_in_executor(self._pool, self._store_blocking, chunk)
        except STORE_ERRORS as exc:
            if self._dropped.pop(id(chunk), None) is not None:
                return None
            delay = min(self.settings.retry_initial_s * 2**attempts, self.settings.retry_max_s)
            if attempts == 0:
                self._failing[chunk.source] += 1
            self._attempts[id(chunk)] = attempts + 1
            logger.warning(
                "storing %s/%s failed (%s: %s); retrying in %.1f s",
                chunk.operator,
                chunk.camera_id,
                type(exc).__name__,
                str(exc)[:200],
                delay,
            )
            loop.call_later(delay, self._queue.put_nowait, chunk)
            return None
        if self._attempts.pop(id(chunk), None) is not None:
            self._failing[chunk.source] -= 1
            logger.info("MinIO answers again: %s/%s stored", chunk.operator, chunk.camera_id)
        if self._dropped.pop(id(chunk), None) is not None:
            return None
        return result

    def _store_blocking(self, chunk: Chunk) -> _Stored:
        """In a worker thread: drop frames a stored manifest holds, encode, put."""
        todo = chunk
        already: list[dict[str, Any]] = []
        if chunk.first_offset < self._replay_end.get(chunk.source, 0):
            offsets = {f.offset for f in chunk.frames}
            handled: set[int] = set()
            for stored in self.store.stored_manifests(chunk):
                theirs = manifests.handled_offsets(stored, chunk.topic, chunk.partition)
                if theirs & offsets:
                    already.append(stored)
                    handled |= theirs
            remaining = without_stored(chunk, handled)
            if remaining is None:
                logger.info(
                    "%s/%s window %s already stored (replay)",
                    chunk.operator,
                    chunk.camera_id,
                    chunk.window_start.isoformat(),
                )
                return _Stored(already, [])
            todo = remaining
        profile = self.settings.profiles.get(todo.operator, self.settings.default_profile)
        encoded = encode_chunk(todo, profile)
        if not encoded.frames:
            return _Stored(already, list(encoded.rejected))
        manifest = self.store.put(todo, encoded, datetime.now(UTC))
        return _Stored([*already, manifest], list(encoded.rejected))

    async def _announce(self, chunk: Chunk, stored: _Stored) -> None:
        """Dead letters for the rejected frames, then one ``archive-chunks`` event per manifest.

        Chunks a replay found already stored are announced again (their first announcement
        may have been lost in the crash): consumers of ``archive-chunks`` key on video_key.
        Everything is sent first and acknowledged together (one round trip, not one per
        message); a failure sends it all again, which the readers above tolerate."""
        delay = self.settings.retry_initial_s
        while True:
            try:
                acks = [
                    await self.producer.send(
                        DEAD_LETTER_TOPIC,
                        key=letter.source_topic.encode(),
                        value=DEAD_LETTER.encode(letter),
                    )
                    for letter in (_rejected_frame_letter(f, r) for f, r in stored.rejected)
                ]
                acks += [
                    await self.producer.send(
                        ARCHIVE_CHUNKS,
                        key=chunk.camera_id.encode(),
                        value=ARCHIVE_CHUNK.encode(manifests.archive_chunk_of(manifest)),
                    )
                    for manifest in stored.manifests
                ]
                results = await asyncio.gather(*acks, return_exceptions=True)
                failed = [r for r in results if isinstance(r, BaseException)]
                if failed:
                    raise failed[0]
                break
            except KafkaError as exc:
                logger.warning("announcing a chunk failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_max_s)
        for manifest in stored.manifests:
            self.stored_chunks += 1
            self.stored_frames += manifest["frame_count"]
            self.stored_bytes += manifest["video_bytes"]
            logger.info(
                "chunk %s/%s: %d frames, %d bytes",
                manifest["bucket"],
                manifest["video_key"],
                manifest["frame_count"],
                manifest["video_bytes"],
            )

    async def _flush(self, chunks: Sequence[Chunk], sources: set[Source], timeout_s: float) -> None:
        """Store these chunks and wait for every unstored chunk of ``sources``.

        Gives up (Kafka keeps the frames: the next owner of the partitions re-reads them) at
        the timeout, or as soon as every chunk left is one MinIO refused; the chunks given up
        are dropped so that a late retry cannot race the next owner."""
        for chunk in chunks:
            self._enqueue(chunk)
        deadline = time.monotonic() + timeout_s
        while pending := [c for c in self._unstored.values() if c.source in sources]:
            failing = all(id(c) in self._attempts for c in pending)
            if failing or time.monotonic() > deadline:
                logger.warning(
                    "%d chunks not stored (%s): Kafka keeps their frames for the next run",
                    len(pending),
                    "MinIO refuses them" if failing else f"timeout {timeout_s:.0f} s",
                )
                for chunk in pending:
                    self._dropped[id(chunk)] = chunk
                    self._unstored.pop(id(chunk), None)
                    if self._attempts.pop(id(chunk), None) is not None:
                        self._failing[chunk.source] -= 1
                return
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ offsets

    async def _commit(self, only: set[Source] | None = None) -> None:
        pending = [(c.source, c.first_offset) for c in self.chunker.open_chunks]
        pending += [(c.source, c.first_offset) for c in self._unstored.values()]
        commits = commit_offsets(self._positions, pending)
        todo = {
            source: offset
            for source, offset in commits.items()
            if (only is None or source in only) and self._committed.get(source) != offset
        }
        if not todo:
            return
        try:
            await self.reader.commit(todo)
        except CommitRefused as exc:
            logger.warning("offset commit failed (%s): the next run re-reads more", exc)
            return
        self._committed.update(todo)

    # ------------------------------------------------------------------ rebalance

    async def on_partitions_revoked(self, revoked: Sequence[Source]) -> None:
        sources = set(revoked)
        if not sources:
            return
        await self._flush(self.chunker.drain(sources), sources, self.settings.shutdown_timeout_s)
        await self._commit(only=sources)
        self._paused -= sources
        for source in sources:
            self._positions.pop(source, None)
            self._last_record.pop(source, None)
            self._replay_end.pop(source, None)
            self._committed.pop(source, None)

    async def on_partitions_assigned(self, assigned: Sequence[Source]) -> None:
        if not assigned:
            return
        # Offsets below the end at assignment may have been stored by an earlier run, or by
        # another member while the partitions were away: list what is stored afresh.
        self._replay_end.update(await self.reader.end_offsets(assigned))
        self.store.forget_listings()
        logger.info("assigned %d partitions", len(assigned))
        self._paused -= set(assigned)  # a new assignment starts unpaused

    # ------------------------------------------------------------------ dead letters

    async def _dead_letter(self, record: ConsumedRecord, error_kind: str, reason: str) -> None:
        await self._send_dead_letter(
            dead_letter_for(record, stage=STAGE, error_kind=error_kind, reason=reason)
        )

    async def _send_dead_letter(self, letter: DeadLetter) -> None:
        await self.producer.send_and_wait(
            DEAD_LETTER_TOPIC, key=letter.source_topic.encode(), value=DEAD_LETTER.encode(letter)
        )


def _rejected_frame_letter(frame: ArchivedFrame, reason: str) -> DeadLetter:
    """A frame whose JPEG could not be archived; the value is the image as received."""
    headers = frame_headers(
        Frame(
            camera_id=frame.camera_id,
            operator=frame.operator,
            capture_time=us_to_datetime(frame.capture_us),
            sequence=frame.sequence,
            width=frame.width,
            height=frame.height,
            encoding=FrameEncoding.JPEG,
            image=b"",
        )
    )
    return DeadLetter(
        time=datetime.now(UTC),
        stage=STAGE,
        source_topic=frame.topic,
        source_partition=frame.partition,
        source_offset=frame.offset,
        key=frame.camera_id.encode(),
        value=frame.image,
        headers=dict(headers),
        error_kind="UndecodableImage",
        reason=reason,
    )


async def run(settings: ArchiverSettings, minio: Minio) -> None:
    """Run an archiver until SIGTERM or SIGINT, then flush, commit and return."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Archiver(settings, minio).run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

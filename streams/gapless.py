"""A consumer group member that never skips a record and never commits past one it skipped.

Why it exists: the policy worker's incident commands and audit drafts ran as faust-streaming
agents, and a worker started on a backlog skipped a contiguous run of commands (README, "Why
the policy worker does not use Faust agents"). A skipped CLOSE leaves cameras shared. This
member owns the two things that went wrong there:

- **Where reading starts.** On every assignment it seeks each partition explicitly to the
  group's committed offset (or the log start when the group has none), after the caller rebuilt
  its state for those partitions, and before any record of them is handed out.
- **Contiguity.** It tracks, per partition, the next offset it expects, and hands out only the
  records that continue it (:func:`admit`, pure). At a jump the partition is sought back to the
  expected offset and commits never pass it. If reading again finds the very same jump, the log
  itself has no record there (compaction, transaction markers, retention): the jump is
  *explained*, logged at INFO and counted. If it finds the records, the first read had a *gap*:
  logged as a WARNING ("GAP:"), counted, and the records are processed in order.

Processing is at-least-once: the caller commits (:meth:`GaplessConsumer.commit`) after its
effects are acknowledged, under the same lock that holds back a revocation until then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata

from runtime import kafka_clients

__all__ = ["Admitted", "Gap", "GapStats", "GaplessConsumer", "admit"]

logger = logging.getLogger(__name__)

PartitionsCallback = Callable[[set[TopicPartition]], Awaitable[None]]
BatchHandler = Callable[[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Gap:
    """Reading expected offset `expected` of a partition and got `found` (> expected)."""

    expected: int
    found: int


@dataclass(frozen=True, slots=True)
class Admitted:
    """Which records of a fetched run to process: ``offsets[start:stop]``."""

    start: int
    stop: int
    next_offset: int
    """The next offset expected after them (what may be committed)."""
    gap: Gap | None = None
    """An unexplained jump stopped the run: seek back to ``gap.expected``."""
    explained: Gap | None = None
    """A jump met twice in a row: the log has no records there; it was stepped over."""


def admit(next_offset: int, suspect: Gap | None, offsets: Sequence[int]) -> Admitted:
    """The records of one partition's fetched run (offsets ascending) that continue
    `next_offset` (pure). `suspect` is the gap met on the previous read, if any: meeting the same
    jump again explains it. Offsets below `next_offset` were processed already and are skipped.
    """
    start = 0
    while start < len(offsets) and offsets[start] < next_offset:
        start += 1
    explained: Gap | None = None
    for i in range(start, len(offsets)):
        offset = offsets[i]
        if offset != next_offset:
            jump = Gap(next_offset, offset)
            if jump != suspect:
                return Admitted(start, i, next_offset, gap=jump, explained=explained)
            explained, suspect = jump, None
        next_offset = offset + 1
    return Admitted(start, len(offsets), next_offset, explained=explained)


@dataclass
class GapStats:
    jumps: int = 0
    """Offset jumps met (each read again from the expected offset)."""
    gaps: int = 0
    """Jumps over records that exist: the re-read found them (a fetch skipped them)."""
    explained: int = 0
    """Jumps the log itself explains (no record at those offsets)."""
    records: int = 0


@dataclass
class _Track:
    next_offset: int
    committed: int
    suspect: Gap | None = None


@dataclass
class GaplessConsumer:
    """A member of `group_id` on `topic`; see the module docstring.

    `on_assigned` / `on_revoked` are awaited inside the rebalance, before any record of the
    assigned partitions is handed out and after the last batch of the revoked ones committed.
    """

    bootstrap: str
    group_id: str
    topic: str
    on_assigned: PartitionsCallback
    on_revoked: PartitionsCallback
    client_id: str = "vigie"
    session_timeout_ms: int = 10_000
    stats: GapStats = field(default_factory=GapStats)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a batch is processed and committed; a revocation waits for it."""
    _tracks: dict[TopicPartition, _Track] = field(default_factory=dict)
    _consumer: AIOKafkaConsumer | None = None
    _failure: BaseException | None = None
    """What went wrong inside a rebalance callback (aiokafka only logs it): raised by batch()."""

    async def start(self) -> None:
        self._consumer = kafka_clients.consumer(
            self.bootstrap,
            group_id=self.group_id,
            client_id=self.client_id,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=1_000,
        )
        self._consumer.subscribe([self.topic], listener=_Listener(self))
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()  # leaves the group: partitions move at once
            self._consumer = None

    @property
    def assigned(self) -> set[TopicPartition]:
        return set(self._tracks)

    async def _assign(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._start_reading(assigned)
        except Exception as exc:  # noqa: BLE001 - handed to the processing loop, which raises it
            self._failure = exc

    async def _start_reading(self, assigned: set[TopicPartition]) -> None:
        consumer = self._require()
        await self.on_assigned(assigned)
        starts = await consumer.beginning_offsets(list(assigned)) if assigned else {}
        for tp in assigned:
            committed = await consumer.committed(tp)
            start = committed if committed is not None else starts[tp]
            consumer.seek(tp, start)
            self._tracks[tp] = _Track(next_offset=start, committed=start)
            logger.info("%s[%d]: reading from offset %d", tp.topic, tp.partition, start)

    async def _revoke(self, revoked: set[TopicPartition]) -> None:
        async with self.lock:  # the batch in progress commits first
            for tp in revoked:
                self._tracks.pop(tp, None)
            await self.on_revoked(revoked)

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("GaplessConsumer used before start()")
        return self._consumer

    async def consume(self, stop: asyncio.Event, handle: BatchHandler) -> None:
        """Join the group and hand each contiguous batch to `handle`, then commit, until `stop`
        (the member leaves the group when it returns or fails)."""
        await self.start()
        try:
            while not stop.is_set():
                async with self.lock:
                    batch = await self.batch(timeout_ms=200)
                    if batch:
                        await handle(batch)
                    await self.commit()
        finally:
            await self.stop()

    async def batch(
        self, timeout_ms: int = 200, max_records: int = 500
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """The next contiguous records of each partition (possibly none). Call with
        :attr:`lock` held and keep holding it until :meth:`commit` returned."""
        consumer = self._require()
        if self._failure is not None:
            raise self._failure  # the member leaves the group; its owner starts it again
        fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        if self._failure is not None:
            raise self._failure
        out: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for tp, records in fetched.items():
            track = self._tracks.get(tp)
            if track is None:  # fetched before a revocation: not ours any more
                continue
            offsets = [r.offset for r in records]
            admitted = admit(track.next_offset, track.suspect, offsets)
            if admitted.explained is not None:
                self.stats.explained += 1
                logger.info(
                    "%s[%d]: no records at offsets %d..%d (compaction, transaction markers or"
                    " retention); continuing at %d",
                    tp.topic,
                    tp.partition,
                    admitted.explained.expected,
                    admitted.explained.found - 1,
                    admitted.explained.found,
                )
            elif (
                track.suspect is not None
                and admitted.stop > admitted.start
                and offsets[admitted.start] < track.suspect.found
            ):
                # Re-reading found records the first read jumped over: a real gap, closed now.
                self.stats.gaps += 1
                logger.warning(
                    "%s[%d]: GAP: the fetch skipped offsets %d..%d, which exist; they were read"
                    " again and nothing was committed past them",
                    tp.topic,
                    tp.partition,
                    track.suspect.expected,
                    track.suspect.found - 1,
                )
            track.suspect = admitted.gap
            if admitted.gap is not None:
                self.stats.jumps += 1
                logger.info(
                    "%s[%d]: offset jump %d -> %d; reading again from %d to tell a gap from"
                    " the log's own holes",
                    tp.topic,
                    tp.partition,
                    admitted.gap.expected,
                    admitted.gap.found,
                    admitted.gap.expected,
                )
                consumer.seek(tp, admitted.gap.expected)
            track.next_offset = admitted.next_offset
            kept = records[admitted.start : admitted.stop]
            if kept:
                out[tp] = kept
                self.stats.records += len(kept)
        return out

    async def commit(self) -> None:
        """Commit, per partition, the offset after the last record handed out (never past a
        gap). A group that rebalanced meanwhile refuses: the new owner re-reads from the last
        commit, and replay detection makes that harmless."""
        consumer = self._require()
        offsets = {
            tp: OffsetAndMetadata(t.next_offset, "")
            for tp, t in self._tracks.items()
            if t.next_offset != t.committed
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            logger.info("%s: processed but not committed (group rebalanced)", self.group_id)
            return
        for tp, meta in offsets.items():
            track = self._tracks.get(tp)
            if track is not None:
                track.committed = meta.offset


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: GaplessConsumer) -> None:
        self._member = member

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._member._revoke(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._member._assign(set(assigned))

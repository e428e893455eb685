"""The router's hot path: a thread that reads the assigned camera partitions and forwards frames
to ``shared.<grantee>``, on librdkafka (confluent-kafka) consumers and producers.

librdkafka rather than aiokafka because forwarding is all the router does: librdkafka fetches,
parses and batches in its own threads, aiokafka in Python on the event loop (kafka-baseline's
relay: confluent-kafka 1.4x aiokafka over TLS on this machine). The thread owns every client;
the event loop only hands it assignment changes (``Relay.reassign``), which it applies between
batches, so no client is ever called from two threads.

Two lanes, each a consumer and a producer of its own (its own connections):
- **live**: the partitions read near their end. Read first in every turn of the thread.
- **catch-up**: a partition more than ``CATCH_UP_LAG`` frames behind when it is assigned (a
  restarted worker, a grant that starts in the past), read after the live lane in each turn,
  with the same buffers (sized for a backlog's throughput). At its end the partition is handed
  over to the live lane once its frames in flight are acknowledged and their offset committed
  (so a camera's frames stay in order on ``shared.<grantee>``).
A partition dropped while frames of it are in flight is committed where it stopped once they
are acknowledged, and read again (a rebalance drops and adds back every partition) only then.
While live frames flow the catch-up lane keeps to a rate that yields to them
(``streams.pacing``: it falls when their delivery latency rises, LEDBAT-like); with none, it
reads at full speed.
The broker serves one connection's requests in order, so with one lane a live frame waited
behind the backlog's fetches and produce requests (measured while a 5,000-frame backlog
drained: live p50 / p99 103 / 164 ms with the buffers that drain fastest; smaller buffers
brought the p99 under 100 ms but cost a third of the throughput).

Pipelined, at-least-once: a batch's frames are produced without waiting (up to the lane's
unacknowledged limit); its offsets are committed once every frame (and dead letter) of it, and
of every batch of its lane before it, is acknowledged. A failed delivery stops the relay before
anything after it is committed; the router then starts again from the last commit. Nothing is
read before the router assigns it (which it does only for granted cameras), and every frame is
decided again by ``route`` against the grant index as it stands when the frame is read (fail
closed).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from runtime import kafka_clients
from runtime.consumed import ConsumedRecord
from schemas.codec import DEAD_LETTER
from schemas.dead_letters import dead_letter_for
from schemas.headers import to_epoch_us
from schemas.topics import DEAD_LETTER as DEAD_LETTER_TOPIC
from schemas.topics import shared_topic
from streams.pacing import CatchUpPace
from streams.routing import Routed, Source, catching_up, start_offset

__all__ = ["Relay", "RelayFailed", "RelayStats"]

logger = logging.getLogger(__name__)

STAGE = "policy-router"
BATCH = 250
MAX_UNACKNOWLEDGED = 250
"""Frames sent and not yet acknowledged, per lane, beyond which the lane is not read. A few
hundred keep the pipeline full (kafka-baseline's relay waits for each 500); more only lengthen
what a frame waits behind."""
FETCH_BYTES = 2 * 1024 * 1024
STOP_GRACE_S = 10.0
STOP_COMMIT_S = 2.0
"""Of the grace, what is kept for the last commits after waiting for acknowledgements."""
POLL_S = 0.02
"""How long the thread waits for a live frame before it looks at assignment changes again."""
BUSY_POLL_S = 0.002
"""The same wait while the catch-up lane works (what a live frame may wait for then)."""

Decide = Callable[[str, int, bytes | None, list[tuple[str, bytes]], int], Routed]
"""(topic, partition, key, headers, now µs) -> Routed: the pure decision, bound to the grants."""


class RelayFailed(RuntimeError):
    """A frame could not be forwarded (or dead-lettered): nothing after it was committed."""


@dataclass
class RelayStats:
    frames: int = 0
    forwarded: int = 0
    dead_letters: int = 0
    assigned: int = 0
    caught_up: int = 0
    """Partitions handed from the catch-up lane to the live lane."""
    retiring: int = 0
    """Dropped partitions not yet committed where they stopped (frames in flight)."""


@dataclass
class _Batch:
    offsets: dict[Source, int]
    pending: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Change:
    add: Mapping[Source, int]
    """Source -> read from the first frame at or after this time (epoch µs)."""
    remove: frozenset[Source]


@dataclass
class _Retiring:
    lane: _Lane
    offset: int | None
    """Where it stopped if no frame of it is acknowledged on the lane since its assignment
    (a caught-up partition's end), else the lane's acknowledged offset is used."""
    attempts: int = 0
    retry_at: float = 0.0


MAX_COMMIT_ATTEMPTS = 5
"""Synchronous commits of a move the broker may refuse before the move goes ahead anyway (the
cost: a few frames forwarded again after a restart; logged)."""


def _named(sources: Iterable[Source]) -> str:
    """Partitions as the logs name them: ``frames.stib[3], frames.stib[7]``."""
    return ", ".join(f"{topic}[{partition}]" for topic, partition in sorted(sources))


def _where(message: Message) -> tuple[str, int, int]:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise RelayFailed("a consumed message without topic, partition or offset")
    return topic, partition, offset


class _Lane:
    """A consumer and a producer: the partitions it reads, its batches in flight, its commits."""

    def __init__(
        self, name: str, bootstrap: str, commit_group: str, client_id: str, end_events: bool
    ) -> None:
        security = kafka_clients.librdkafka_security()
        self.name = name
        self.consumer = Consumer(
            {
                # Offsets only: partitions are assigned, not subscribed.
                **kafka_clients.librdkafka_frame_consumer(
                    bootstrap, commit_group, f"{client_id}-{name}", FETCH_BYTES
                ),
                "enable.partition.eof": end_events,
                # Small fetches and a short local queue: measured, 9 MiB per partition and the
                # 64 MiB default queue made the live frames wait behind the backlog's
                # (p99 454 ms).
                "queued.max.messages.kbytes": FETCH_BYTES * 4 // 1024,
                "fetch.wait.max.ms": 50,
                "logger": logging.getLogger("librdkafka"),
                **security,
            }
        )
        self.producer = Producer(
            {
                **kafka_clients.librdkafka_producer(bootstrap, f"{client_id}-{name}"),
                "logger": logging.getLogger("librdkafka"),
                **security,
            }
        )
        self.assigned: set[Source] = set()
        self.bytes_read = 0
        self.frames_read = 0
        self.in_flight: deque[_Batch] = deque()
        self.acknowledged: dict[Source, int] = {}
        """Source -> the offset after its last acknowledged frame since it was assigned (for an
        assigned source: what was committed), kept once it is unassigned."""

    def unacknowledged(self) -> int:
        return sum(batch.pending for batch in self.in_flight)

    def mean_frame_bytes(self) -> float:
        return self.bytes_read / self.frames_read if self.frames_read else 30_000.0

    def carries(self, source: Source) -> bool:
        """Whether frames of `source` are still in flight on this lane."""
        return any(source in batch.offsets for batch in self.in_flight)

    def assign(self, starts: list[TopicPartition]) -> None:
        self.consumer.incremental_assign(starts)
        for tp in starts:
            self.assigned.add((tp.topic, tp.partition))
            self.acknowledged.pop((tp.topic, tp.partition), None)  # an earlier stint's

    def unassign(self, sources: Iterable[Source]) -> None:
        gone = [TopicPartition(t, p) for t, p in sources if (t, p) in self.assigned]
        if gone:
            self.consumer.incremental_unassign(gone)
        for tp in gone:
            self.assigned.discard((tp.topic, tp.partition))

    def commit_done(self) -> None:
        """Commit the offsets of the acknowledged batches, in order (asynchronously)."""
        done: dict[Source, int] = {}
        while self.in_flight and self.in_flight[0].pending == 0:
            batch = self.in_flight.popleft()
            if batch.failed:
                raise RelayFailed(f"forwarding failed, not committed: {batch.failed[0]}")
            done.update(batch.offsets)
        self.acknowledged.update(done)
        offsets = [TopicPartition(t, p, o) for (t, p), o in done.items() if (t, p) in self.assigned]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            # At-least-once: the next reader of these partitions forwards them again.
            logger.info("router: offsets not committed (%s)", exc)

    def commit_now(self, offsets: Mapping[Source, int]) -> bool:
        """Commit and wait for the broker; whether every offset was committed. On this lane's
        connection, so after its asynchronous commits (a commit of the same partition through
        another connection could land before them)."""
        if not offsets:
            return True
        try:
            result = self.consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            logger.warning("router: offsets not committed (%s)", exc)
            return False
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            logger.warning("router: offsets not committed (%s)", failed[0].error)
            return False
        return True


class Relay:
    def __init__(self, bootstrap: str, commit_group: str, client_id: str, decide: Decide) -> None:
        self._live = _Lane("live", bootstrap, commit_group, client_id, end_events=False)
        self._catch_up = _Lane("catch-up", bootstrap, commit_group, client_id, end_events=True)
        self._decide = decide
        self._changes: queue.SimpleQueue[_Change] = queue.SimpleQueue()
        self._handover: dict[Source, int] = {}
        """Catch-up partitions read to their end -> the next offset, waiting for their frames
        in flight to be acknowledged before the live lane reads them."""
        self._retiring: dict[Source, _Retiring] = {}
        """Partitions dropped while frames of them were in flight (or read on the catch-up
        lane, whose commits travel on another connection than the reads of `_starts`): once
        those are acknowledged, where they stopped is committed, on the lane that read them."""
        self._waiting: dict[Source, int] = {}
        """Partitions to read (-> grant start, µs) that wait for their retirement: read again
        before the frames already sent are acknowledged and committed, a camera's frames
        could go out twice or out of order (a rebalance drops and adds back every partition)."""
        self._next: dict[Source, int] = {}
        self._pace = CatchUpPace()
        """When the catch-up lane reads, and how much: it yields to live frames."""
        self._backlog_noted = 0.0
        self.stats = RelayStats()

    # ------------------------------------------------------------ called from the event loop

    def reassign(self, add: Mapping[Source, int], remove: frozenset[Source]) -> None:
        """Start reading `add` (each from the first frame at or after its time, or where this
        router group stopped if that is later) and stop reading `remove`. Thread-safe."""
        self._changes.put(_Change(dict(add), remove))

    def changes_pending(self) -> bool:
        """Whether a reassignment has not been taken up by the relay's thread yet."""
        return not self._changes.empty()

    # ------------------------------------------------------------ the thread

    def run(self, stopping: threading.Event) -> None:
        try:
            while not stopping.is_set():
                self._apply_changes()
                self._move()
                read = self._read(self._live, 0)
                lane = self._catch_up
                now = time.monotonic()
                if (
                    lane.assigned
                    and lane.unacknowledged() <= MAX_UNACKNOWLEDGED
                    and self._pace.ready(now)
                ):
                    before = lane.bytes_read
                    most = self._pace.frames_per_read(lane.mean_frame_bytes(), BATCH, now)
                    read += self._read(lane, 0, most)
                    self._pace.read(lane.bytes_read - before, now)
                if now - self._backlog_noted >= 1.0:
                    self._note_backlog(now)
                if not read and lane.unacknowledged() > MAX_UNACKNOWLEDGED:
                    lane.producer.poll(BUSY_POLL_S)  # wakes on its acknowledgements
                elif not read:
                    busy = lane.assigned or lane.in_flight or self._handover
                    self._read(self._live, BUSY_POLL_S if busy else POLL_S)
                if not lane.assigned:
                    # Serves its logs and events while it reads nothing (no partition of it
                    # is assigned, so there is no frame to miss).
                    event = lane.consumer.poll(0)
                    error = None if event is None else event.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        logger.warning("router consumer (catch-up): %s", error)
                self._settle(stopping)
            # What is acknowledged within the grace is committed; the rest is forwarded again
            # by the next reader (at-least-once).
            deadline = time.monotonic() + STOP_GRACE_S
            acknowledged_by = deadline - STOP_COMMIT_S
            for lane in (self._live, self._catch_up):
                lane.producer.flush(max(0.0, acknowledged_by - time.monotonic()))
            self._settle(stopping, acknowledged_by)
            self._commit_at_stop(deadline)
        finally:
            self._live.consumer.close()
            self._catch_up.consumer.close()

    def _read(self, lane: _Lane, wait_s: float, most: int = BATCH) -> int:
        """Forward what the lane has fetched, at most `most` frames (waiting up to `wait_s`
        for a first frame)."""
        if wait_s > 0:
            first = lane.consumer.poll(wait_s)
            if first is None:
                return 0
            messages = [first, *lane.consumer.consume(most - 1, 0)] if most > 1 else [first]
        else:
            messages = lane.consumer.consume(most, 0)
        if messages:
            self._forward(lane, messages)
        return len(messages)

    def _apply_changes(self) -> None:
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                return
            gone = {s for s in change.remove if self._reads(s) and s not in self._waiting}
            for source in change.remove:
                self._waiting.pop(source, None)
            for source in gone:
                last = self._live if source in self._live.assigned else self._catch_up
                stopped_at = self._handover.pop(source, None)
                if (
                    stopped_at is not None
                    or last.carries(source)
                    or (last is self._catch_up and source in last.acknowledged)
                ):
                    self._retiring[source] = _Retiring(last, stopped_at)
                self._next.pop(source, None)
            for lane in (self._live, self._catch_up):
                lane.unassign(gone & lane.assigned)
            self._waiting.update({s: at for s, at in change.add.items() if not self._reads(s)})
            self._count()
            if gone:
                logger.info("router reads %d cameras (-%d)", self.stats.assigned, len(gone))

    def _move(self) -> None:
        """Partitions between states, in order: dropped ones committed where they stopped once
        their frames are acknowledged; caught-up ones handed to the live lane; waiting ones
        read once retired. A commit the broker refuses is tried again a second later (that
        partition alone waits), and after MAX_COMMIT_ATTEMPTS the move goes ahead anyway."""
        self._retire(time.monotonic())
        ready = {s: o for s, o in self._handover.items() if not self._catch_up.carries(s)}
        if ready:
            # Committed before the live lane commits anything of them (another connection).
            if not self._catch_up.commit_now(ready):
                # Handed over anyway: at worst a few frames go out again after a restart.
                logger.warning("router: handing %d cameras over without their commit", len(ready))
            self._live.assign([TopicPartition(t, p, o) for (t, p), o in ready.items()])
            for source in ready:
                del self._handover[source]
            self.stats.caught_up += len(ready)
            logger.info("router: %d cameras caught up, read live: %s", len(ready), _named(ready))
        new = {s: at for s, at in self._waiting.items() if s not in self._retiring}
        if not new:
            self._count()
            return
        for source in new:
            del self._waiting[source]
        live: list[TopicPartition] = []
        behind: list[TopicPartition] = []
        for tp, end in self._starts(new):
            self._next[(tp.topic, tp.partition)] = tp.offset
            (behind if catching_up(tp.offset, end) else live).append(tp)
        if live:
            self._live.assign(live)
        if behind:
            self._catch_up.assign(behind)
        self._count()
        logger.info(
            "router reads %d cameras (+%d, %d catching up%s)",
            self.stats.assigned,
            len(new),
            len(self._catch_up.assigned),
            f": {_named((tp.topic, tp.partition) for tp in behind)}" if behind else "",
        )

    def _retire(self, now: float, force: bool = False) -> None:
        """Commit the dropped partitions whose frames are all acknowledged, one commit per
        lane (`force`: at a stop, without waiting for a retry time)."""
        for lane in (self._live, self._catch_up):
            due = {
                source: retiring
                for source, retiring in self._retiring.items()
                if retiring.lane is lane
                and not lane.carries(source)
                and (force or now >= retiring.retry_at)
            }
            offsets = {
                source: offset
                for source, retiring in due.items()
                if (offset := lane.acknowledged.get(source, retiring.offset)) is not None
            }
            if lane.commit_now(offsets):
                for source in due:
                    del self._retiring[source]
                continue
            for source, retiring in due.items():
                retiring.attempts += 1
                retiring.retry_at = now + 1.0
                if retiring.attempts >= MAX_COMMIT_ATTEMPTS:
                    logger.warning("router: %s[%d] read again without its commit", *source)
                    del self._retiring[source]

    def _commit_at_stop(self, deadline: float) -> None:
        """At a stop: the dropped and caught-up partitions and every lane's last offsets,
        committed and waited for (an asynchronous commit in flight when the consumer closes
        may be lost, and the next reader would forward those frames again)."""
        if time.monotonic() < deadline:
            self._retire(time.monotonic(), force=True)
        ready = {s: o for s, o in self._handover.items() if not self._catch_up.carries(s)}
        if ready and time.monotonic() < deadline:
            self._catch_up.commit_now(ready)
        for lane in (self._live, self._catch_up):
            if time.monotonic() < deadline:
                lane.commit_now({s: o for s, o in lane.acknowledged.items() if s in lane.assigned})

    def _reads(self, source: Source) -> bool:
        return (
            source in self._live.assigned
            or source in self._catch_up.assigned
            or source in self._handover
            or source in self._waiting
        )

    def _count(self) -> None:
        self.stats.assigned = (
            len(self._live.assigned) + len(self._catch_up.assigned) + len(self._handover)
        )
        self.stats.retiring = len(self._retiring)

    def _starts(self, new: Mapping[Source, int]) -> list[tuple[TopicPartition, int]]:
        """Each new partition at ``start_offset`` (where the group stopped, or the grant's
        start), with the partition's end."""
        consumer = self._live.consumer
        parts = [TopicPartition(t, p) for t, p in new]
        committed = {
            (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in consumer.committed(parts, timeout=10)
        }
        times = [TopicPartition(t, p, at // 1000) for (t, p), at in new.items()]
        found = {
            (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in consumer.offsets_for_times(times, timeout=10)
        }
        starts = []
        for tp in parts:
            source = (tp.topic, tp.partition)
            _, end = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            offset = start_offset(committed.get(source), found.get(source), end)
            starts.append((TopicPartition(tp.topic, tp.partition, offset), end))
        return starts

    def _note_backlog(self, now: float) -> None:
        """Tell the pace how far behind the catch-up lane is (from the ends its fetches saw)."""
        self._backlog_noted = now
        behind, known = 0, False
        for topic, partition in self._catch_up.assigned:
            at = self._next.get((topic, partition))
            try:
                ends = self._catch_up.consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if at is not None and ends is not None and ends[1] >= 0:
                behind, known = behind + max(0, ends[1] - at), True
        if known or not self._catch_up.assigned:
            self._pace.note_backlog(behind, now)

    def _caught_up(self, source: Source) -> None:
        """A catch-up partition reached its end: stop reading it there; the live lane takes
        it over once its frames in flight are acknowledged."""
        self._catch_up.unassign([source])
        self._handover[source] = self._next[source]

    def _forward(self, lane: _Lane, messages: list[Message]) -> None:
        batch = _Batch({})
        now_us = to_epoch_us(datetime.now(UTC))
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("router consumer: %s", error)
                elif lane is self._catch_up:
                    source = (message.topic() or "", message.partition() or 0)
                    if source in lane.assigned:
                        self._caught_up(source)
                continue
            # Set on every consumed message (None only on producer-side messages).
            topic, partition, offset = _where(message)
            if (topic, partition) not in lane.assigned:
                continue  # fetched before an unassignment: not this lane's to forward any more
            key = message.key()
            lane.bytes_read += len(message)  # the value's size
            lane.frames_read += 1
            headers = cast(list[tuple[str, bytes]], message.headers() or [])
            routed = self._decide(topic, partition, key, headers, now_us)
            self.stats.frames += 1
            if routed.problem is not None:
                self._dead_letter(
                    lane,
                    batch,
                    ConsumedRecord(topic, partition, offset, key, message.value(), headers),
                    routed.problem,
                )
            for grantee in routed.grantees:
                self._send(
                    lane,
                    batch,
                    shared_topic(grantee),
                    message.value(),
                    key,
                    headers,
                    message.timestamp()[1],
                )
                self.stats.forwarded += 1
            batch.offsets[(topic, partition)] = offset + 1
            self._next[(topic, partition)] = offset + 1
        if batch.offsets:
            lane.in_flight.append(batch)
        lane.producer.poll(0)

    def _dead_letter(
        self, lane: _Lane, batch: _Batch, record: ConsumedRecord, problem: str
    ) -> None:
        self.stats.dead_letters += 1
        logger.warning(
            "%s[%d]@%d dead-lettered: %s", record.topic, record.partition, record.offset, problem
        )
        letter = dead_letter_for(record, stage=STAGE, error_kind="HeaderError", reason=problem)
        self._send(
            lane,
            batch,
            DEAD_LETTER_TOPIC,
            DEAD_LETTER.encode(letter),
            record.topic.encode(),
            None,
            None,
        )

    def _send(
        self,
        lane: _Lane,
        batch: _Batch,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Any,
        timestamp_ms: int | None,
    ) -> None:
        def delivered(error: KafkaError | None, message: Message) -> None:
            batch.pending -= 1
            if error is not None:
                batch.failed.append(f"{topic}: {error}")
            elif lane is self._live:
                latency = message.latency()  # produce() -> acknowledged, librdkafka's clock
                if latency is not None:
                    self._pace.observe(latency, time.monotonic())

        batch.pending += 1
        # The original record's time (-1 or 0 when it has none: the producer stamps it then).
        extra: dict[str, Any] = (
            {"timestamp": timestamp_ms} if timestamp_ms and timestamp_ms > 0 else {}
        )
        while True:
            try:
                lane.producer.produce(
                    topic, value, key, headers=headers, on_delivery=delivered, **extra
                )
                return
            except BufferError:  # the producer's queue is full: let it drain
                lane.producer.poll(0.01)

    def _settle(self, stopping: threading.Event, deadline: float | None = None) -> None:
        """Serve delivery reports and commit what is acknowledged. Running (no `deadline`):
        blocks while the live lane has more than MAX_UNACKNOWLEDGED frames unacknowledged (a
        broker that does not answer stops the reading; the catch-up lane is simply not read
        then), until `stopping`. Stopping: until both lanes are acknowledged, or the deadline."""
        while True:
            for lane in (self._live, self._catch_up):
                lane.producer.poll(0)
                lane.commit_done()
            if deadline is None:
                if stopping.is_set() or self._live.unacknowledged() <= MAX_UNACKNOWLEDGED:
                    return
            elif time.monotonic() > deadline or not (
                self._live.unacknowledged() or self._catch_up.unacknowledged()
            ):
                return
            self._live.producer.poll(0.005)

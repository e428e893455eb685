"""The router's hot path: a thread that reads the assigned camera partitions and forwards frames
to ``shared.<grantee>``, on librdkafka (confluent-kafka) consumer and producer.

librdkafka rather than aiokafka because forwarding is all the router does: librdkafka fetches,
parses and batches in its own threads, aiokafka in Python on the event loop (kafka-baseline's
relay: confluent-kafka 1.4x aiokafka over TLS on this machine). The thread owns both clients;
the event loop only hands it assignment changes (``Relay.reassign``), which it applies between
batches, so no client is ever called from two threads.

Pipelined, at-least-once: a batch's frames are produced without waiting (up to
``MAX_UNACKNOWLEDGED`` frames in flight); its offsets are committed once every frame (and dead
letter) of it, and of every batch before it, is acknowledged. A failed delivery stops the relay
before anything after it is committed; the router then starts again from the last commit.
Nothing is read before the router assigns it (which it does only for granted cameras), and every
frame is decided again by ``route`` against the grant index as it stands when the frame is read
(fail closed).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
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
from streams.routing import Routed, Source, start_offset

__all__ = ["Relay", "RelayFailed", "RelayStats"]

logger = logging.getLogger(__name__)

STAGE = "policy-router"
BATCH = 250
MAX_UNACKNOWLEDGED = 250
"""Frames sent and not yet acknowledged beyond which reading waits. What is queued in the
producer is what a live frame waits behind when it is forwarded during a backlog: 16 batches of
500 let a live frame wait about 1 s behind a 5,000-frame backlog (p99 454 ms measured); a few
hundred keep the pipeline full (kafka-baseline's relay waits for each 500) and the wait short."""
FETCH_BYTES = 2 * 1024 * 1024
STOP_GRACE_S = 10.0
POLL_S = 0.02
"""How long the thread waits for a frame before it looks at assignment changes again."""

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


def _where(message: Message) -> tuple[str, int, int]:
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    if topic is None or partition is None or offset is None:
        raise RelayFailed("a consumed message without topic, partition or offset")
    return topic, partition, offset


class Relay:
    def __init__(self, bootstrap: str, commit_group: str, client_id: str, decide: Decide) -> None:
        security = kafka_clients.librdkafka_security()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": commit_group,  # offsets only: partitions are assigned, not subscribed
                "client.id": client_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                # Small fetches and a short local queue per partition: a camera's backlog being
                # drained is fetched a little at a time, so the live cameras' frames do not wait
                # behind thousands of its frames already fetched (librdkafka still returns a
                # frame larger than this, alone). Measured: live p99 454 ms with 9 MiB per
                # partition and librdkafka's 64 MiB queue, while a 5,000-frame backlog drained.
                "max.partition.fetch.bytes": FETCH_BYTES,
                "queued.max.messages.kbytes": FETCH_BYTES * 4 // 1024,
                "fetch.max.bytes": 4 * kafka_clients.SIZE_LIMIT,
                "message.max.bytes": kafka_clients.SIZE_LIMIT,
                "receive.message.max.bytes": 4 * kafka_clients.SIZE_LIMIT + 64 * 1024,
                # With a full local queue librdkafka waits this long before fetching again
                # (default 1 s): a router draining a backlog would idle.
                "fetch.queue.backoff.ms": 20,
                "fetch.wait.max.ms": 50,
                "logger": logging.getLogger("librdkafka"),
                **security,
            }
        )
        self._producer = Producer(
            {
                **kafka_clients.librdkafka_producer(bootstrap, client_id),
                "logger": logging.getLogger("librdkafka"),
                **security,
            }
        )
        self._decide = decide
        self._changes: queue.SimpleQueue[_Change] = queue.SimpleQueue()
        self._assigned: set[Source] = set()
        self._in_flight: deque[_Batch] = deque()
        self._committed: dict[Source, int] = {}
        self.stats = RelayStats()

    # ------------------------------------------------------------ called from the event loop

    def reassign(self, add: Mapping[Source, int], remove: frozenset[Source]) -> None:
        """Start reading `add` (each from the first frame at or after its time, or where this
        router group stopped if that is later) and stop reading `remove`. Thread-safe."""
        self._changes.put(_Change(dict(add), remove))

    # ------------------------------------------------------------ the thread

    def run(self, stopping: threading.Event) -> None:
        try:
            while not stopping.is_set():
                self._apply_changes()
                first = self._consumer.poll(POLL_S)
                if first is None:
                    self._settle(0, stopping)
                    continue
                messages = [first, *self._consumer.consume(BATCH - 1, 0)]
                self._forward(messages)
                self._settle(MAX_UNACKNOWLEDGED, stopping)
            # What is acknowledged within the grace is committed; the rest is forwarded again
            # by the next reader (at-least-once).
            self._producer.flush(STOP_GRACE_S)
            self._settle(0, stopping)
            self._commit_last()
        finally:
            self._consumer.close()

    def _apply_changes(self) -> None:
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                return
            gone = [TopicPartition(t, p) for t, p in change.remove if (t, p) in self._assigned]
            if gone:
                self._consumer.incremental_unassign(gone)
                self._assigned.difference_update(change.remove)
                for source in change.remove:
                    self._committed.pop(source, None)
            new = {s: at for s, at in change.add.items() if s not in self._assigned}
            if new:
                self._consumer.incremental_assign(self._starts(new))
                self._assigned.update(new)
            self.stats.assigned = len(self._assigned)
            if gone or new:
                logger.info(
                    "router reads %d cameras (+%d -%d)", len(self._assigned), len(new), len(gone)
                )

    def _starts(self, new: Mapping[Source, int]) -> list[TopicPartition]:
        """Each new partition at ``start_offset``: where the group stopped, or the grant's start."""
        parts = [TopicPartition(t, p) for t, p in new]
        committed = {
            (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in self._consumer.committed(parts, timeout=10)
        }
        times = [TopicPartition(t, p, at // 1000) for (t, p), at in new.items()]
        found = {
            (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in self._consumer.offsets_for_times(times, timeout=10)
        }
        starts = []
        for tp in parts:
            source = (tp.topic, tp.partition)
            _, end = self._consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            offset = start_offset(committed.get(source), found.get(source), end)
            starts.append(TopicPartition(tp.topic, tp.partition, offset))
        return starts

    def _forward(self, messages: list[Message]) -> None:
        batch = _Batch({})
        now_us = to_epoch_us(datetime.now(UTC))
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("router consumer: %s", error)
                continue
            # Set on every consumed message (None only on producer-side messages).
            topic, partition, offset = _where(message)
            if (topic, partition) not in self._assigned:
                continue  # fetched before an unassignment: not ours to forward any more
            key = message.key()
            headers = cast(list[tuple[str, bytes]], message.headers() or [])
            routed = self._decide(topic, partition, key, headers, now_us)
            self.stats.frames += 1
            if routed.problem is not None:
                self._dead_letter(
                    batch,
                    ConsumedRecord(topic, partition, offset, key, message.value(), headers),
                    routed.problem,
                )
            for grantee in routed.grantees:
                self._send(
                    batch,
                    shared_topic(grantee),
                    message.value(),
                    key,
                    headers,
                    message.timestamp()[1],
                )
                self.stats.forwarded += 1
            batch.offsets[(topic, partition)] = offset + 1
        if batch.offsets:
            self._in_flight.append(batch)
        self._producer.poll(0)

    def _dead_letter(self, batch: _Batch, record: ConsumedRecord, problem: str) -> None:
        self.stats.dead_letters += 1
        logger.warning(
            "%s[%d]@%d dead-lettered: %s", record.topic, record.partition, record.offset, problem
        )
        letter = dead_letter_for(record, stage=STAGE, error_kind="HeaderError", reason=problem)
        self._send(
            batch, DEAD_LETTER_TOPIC, DEAD_LETTER.encode(letter), record.topic.encode(), None, None
        )

    def _send(
        self,
        batch: _Batch,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Any,
        timestamp_ms: int | None,
    ) -> None:
        def delivered(error: KafkaError | None, _message: Message) -> None:
            batch.pending -= 1
            if error is not None:
                batch.failed.append(f"{topic}: {error}")

        batch.pending += 1
        # The original record's time (-1 or 0 when it has none: the producer stamps it then).
        extra: dict[str, Any] = (
            {"timestamp": timestamp_ms} if timestamp_ms and timestamp_ms > 0 else {}
        )
        while True:
            try:
                self._producer.produce(
                    topic, value, key, headers=headers, on_delivery=delivered, **extra
                )
                return
            except BufferError:  # the producer's queue is full: let it drain
                self._producer.poll(0.01)

    def _settle(self, keep: int, stopping: threading.Event) -> None:
        """Serve delivery reports; commit the offsets of the acknowledged batches, in order.
        Blocks while more than `keep` frames are unacknowledged (a broker that does not answer
        stops the reading); once stopping, for STOP_GRACE_S at most."""
        self._producer.poll(0)
        deadline: float | None = None
        while sum(batch.pending for batch in self._in_flight) > keep:
            if stopping.is_set():
                deadline = deadline or time.monotonic() + STOP_GRACE_S
                if time.monotonic() > deadline:
                    break
            self._producer.poll(0.005)
            self._commit_done()
        self._commit_done()

    def _commit_done(self) -> None:
        done: dict[Source, int] = {}
        while self._in_flight and self._in_flight[0].pending == 0:
            batch = self._in_flight.popleft()
            if batch.failed:
                raise RelayFailed(f"forwarding failed, not committed: {batch.failed[0]}")
            done.update(batch.offsets)
        if not done:
            return
        offsets = [
            TopicPartition(t, p, o) for (t, p), o in done.items() if (t, p) in self._assigned
        ]
        if not offsets:
            return
        self._committed.update({(tp.topic, tp.partition): tp.offset for tp in offsets})
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            # At-least-once: the next reader of these partitions forwards them again.
            logger.info("router: offsets not committed (%s)", exc)

    def _commit_last(self) -> None:
        """At a stop, the last offsets again, waiting for the broker (an asynchronous commit
        still in flight when the consumer closes may be lost: the next reader would forward
        those frames twice)."""
        offsets = [
            TopicPartition(t, p, o)
            for (t, p), o in self._committed.items()
            if (t, p) in self._assigned
        ]
        if not offsets:
            return
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            logger.info("router: last offsets not committed (%s)", exc)

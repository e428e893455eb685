"""The Kafka edge of the archiver: a consumer group member reading ``frames.<operator>`` topics.

Built on confluent-kafka (librdkafka) rather than aiokafka, for throughput: the archiver reads
every byte of every camera, and aiokafka parses fetch responses in pure Python under the GIL
(about half of the archiver's CPU in bench/archive_bench.py), while librdkafka fetches,
decompresses and parses in its own threads. The rest of Vigie keeps aiokafka.

The archiver only sees this narrow interface: batches of :class:`ConsumedRecord`, the
assignment as ``(topic, partition)`` sources, which sources are read up to their end, pause,
resume, commit and the end offsets at assignment. Rebalance callbacks are coroutines run on the
event loop while the consumer waits for them (confluent_kafka.aio re-admits the calls they make).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.aio import AIOConsumer

from consumers.archive.chunker import Source
from runtime import kafka_clients
from runtime.consumed import ConsumedRecord

__all__ = ["CommitRefused", "ConsumedRecord", "FrameReader", "Source"]

logger = logging.getLogger(__name__)

RebalanceHandler = Callable[[Sequence[Source]], Awaitable[None]]


class CommitRefused(Exception):
    """The group refused an offset commit (a rebalance moved the partitions, or the broker is
    unreachable): the next owner re-reads from the last committed offset."""


@dataclass(frozen=True)
class ReaderSettings:
    bootstrap: str
    group_id: str
    client_id: str
    subscription: list[str]
    """Topic names, or one regex starting with ``^`` (librdkafka's pattern subscription)."""
    session_timeout_ms: int = 10_000
    metadata_refresh_ms: int = 30_000
    prefetch_kbytes: int = 64 * 1024
    """Fetched but not yet consumed messages kept in memory (librdkafka's local queue)."""


def consumer_config(settings: ReaderSettings) -> dict[str, Any]:
    """librdkafka configuration of the archiver's consumer (pure, tested)."""
    return {
        **kafka_clients.librdkafka_frame_consumer(
            settings.bootstrap, settings.group_id, settings.client_id
        ),
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,  # tells when a partition is read up to its end
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(1000, settings.session_timeout_ms // 4),
        "topic.metadata.refresh.interval.ms": settings.metadata_refresh_ms,
        "queued.max.messages.kbytes": settings.prefetch_kbytes,
        "partition.assignment.strategy": "range",
    }


class FrameReader:
    def __init__(
        self,
        settings: ReaderSettings,
        on_assigned: RebalanceHandler,
        on_revoked: RebalanceHandler,
    ) -> None:
        self.settings = settings
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._consumer: AIOConsumer | None = None
        self._assignment: set[Source] = set()
        self._at_end: set[Source] = set()

    async def start(self) -> None:
        # Authenticated as this process's principal (SASL/SCRAM over TLS), like every client.
        config = {**consumer_config(self.settings), **kafka_clients.librdkafka_security()}
        # librdkafka's own lines (broker down...) in our log, under their own logger: runtime.logs
        # aggregates their repeats (a broker that is down gives ~20 lines a second).
        config["logger"] = logging.getLogger("librdkafka")
        self._consumer = AIOConsumer(config, max_workers=2)
        await self._consumer.subscribe(
            self.settings.subscription,
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )

    async def stop(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.close()

    # ------------------------------------------------------------------ reading

    async def getmany(self, timeout_s: float, max_records: int) -> list[ConsumedRecord]:
        """The next records (at most ``max_records``, waiting at most ``timeout_s``)."""
        messages = await self._live.consume(num_messages=max_records, timeout=timeout_s)
        records: list[ConsumedRecord] = []
        for message in messages:
            error = message.error()
            source = (message.topic(), message.partition())
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._at_end.add(source)
                else:
                    logger.warning("consumer: %s", error)
                continue
            self._at_end.discard(source)
            records.append(
                ConsumedRecord(
                    source[0],
                    source[1],
                    message.offset(),
                    message.key(),
                    message.value(),
                    message.headers() or [],
                )
            )
        return records

    def assignment(self) -> frozenset[Source]:
        return frozenset(self._assignment)

    def at_end(self, source: Source) -> bool:
        """Whether ``source`` has been read up to its end (as of the last batch)."""
        return source in self._at_end

    # ------------------------------------------------------------------ control

    async def pause(self, sources: Iterable[Source]) -> None:
        await self._live.pause(_partitions(sources))

    async def resume(self, sources: Iterable[Source]) -> None:
        await self._live.resume(_partitions(sources))

    async def commit(self, offsets: Mapping[Source, int]) -> None:
        """Commit the next offset to read of each source, synchronously; CommitRefused if the
        group refuses it."""
        partitions = [TopicPartition(t, p, offset) for (t, p), offset in offsets.items()]
        try:
            result = await self._live.commit(offsets=partitions, asynchronous=False)
        except KafkaException as exc:
            raise CommitRefused(str(exc)) from exc
        failed = [tp for tp in result or () if tp.error is not None]
        if failed:
            raise CommitRefused(f"{failed[0].topic}[{failed[0].partition}]: {failed[0].error}")

    async def end_offsets(self, sources: Iterable[Source]) -> dict[Source, int]:
        ends: dict[Source, int] = {}
        for topic, partition in sources:
            _, high = await self._live.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10.0, cached=False
            )
            ends[(topic, partition)] = high
        return ends

    # ------------------------------------------------------------------ rebalance

    async def _assigned(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        sources = [(tp.topic, tp.partition) for tp in partitions]
        self._assignment.update(sources)
        await self._on_assigned(sources)

    async def _revoked(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        sources = [(tp.topic, tp.partition) for tp in partitions]
        try:
            await self._on_revoked(sources)
        finally:
            self._assignment.difference_update(sources)
            self._at_end.difference_update(sources)

    @property
    def _live(self) -> AIOConsumer:
        if self._consumer is None:
            raise RuntimeError("the frame reader is not started")
        return self._consumer


def _partitions(sources: Iterable[Source]) -> list[TopicPartition]:
    return [TopicPartition(topic, partition) for topic, partition in sources]

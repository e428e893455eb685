"""The live router: frames of every operator to `shared.<grantee>` for each live grant.

A consumer group of its own on `frames.*` (pattern subscription, so a new operator's topic is
picked up without a restart), run inside the policy worker next to the incidents and sealer
loops and fed by the same GrantIndex. It was a plain aiokafka loop before the other two left
Faust, for its own reasons: faust-streaming 0.15's aiokafka driver cannot subscribe by
pattern, its per-event machinery
halved the forwarding rate (0.44 of raw aiokafka), and a worker restarting with a backlog
skipped a contiguous run of frames until its next restart (see docs/benchmarks.md).

Per batch: decide from the headers alone (never decode the image), send, wait for the acks,
then commit — at-least-once; a frame forwarded twice after a crash is harmless to a live view.
Nothing is consumed before the grant index is ready (fail closed). A frame whose headers are bad
or contradict its topic goes to `dead-letter` with the reason, never onwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError
from aiokafka.structs import OffsetAndMetadata

from runtime import kafka_clients
from runtime.dead_letters import send_dead_letter
from schemas.headers import FrameRouting, HeaderError, parse_frame_headers, to_epoch_us
from schemas.topics import FRAMES_PATTERN, operator_of, shared_topic
from streams.policy import GrantIndex, recipients

logger = logging.getLogger(__name__)

STAGE = "policy-router"
BATCH = 500
FIRST_READ_S = 30.0
"""How far back a partition the router group never read is read from."""


@dataclass
class RouterStats:
    frames: int = 0
    forwarded: int = 0
    dead_letters: int = 0


@dataclass(frozen=True, slots=True)
class Routed:
    """What to do with one frame message: forward to these grantees, or dead-letter it."""

    grantees: frozenset[str]
    problem: str | None = None


def misrouted(
    topic: str, key: bytes | None, routing: FrameRouting, owners: Mapping[str, str]
) -> str | None:
    """Why a frame's headers contradict where it was published, or whose camera it is, if they
    do (pure). `owners` maps the configured cameras to their operators: an operator that
    publishes a frame under another operator's camera id is refused, not merely not shared."""
    owner = owners.get(routing.camera_id)
    if owner is not None and owner != operator_of(topic):
        return f"camera {routing.camera_id!r} belongs to {owner!r}, not to the publisher of {topic}"
    if operator_of(topic) != routing.operator:
        return (
            f"header vigie-operator says {routing.operator!r} but the frame was published on"
            f" {topic}"
        )
    if key is not None and key != routing.camera_id.encode():
        return f"header vigie-camera says {routing.camera_id!r} but the message key is {key!r}"
    return None


def route(
    topic: str,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    index: GrantIndex,
    now_us: int,
    owners: Mapping[str, str] | None = None,
) -> Routed:
    """The routing of one frame message (pure): headers only, deny by default."""
    try:
        routing = parse_frame_headers(headers)
    except HeaderError as exc:
        return Routed(frozenset(), str(exc))
    problem = misrouted(topic, key, routing, owners or {})
    if problem is not None:
        return Routed(frozenset(), problem)
    return Routed(recipients(routing, index, now_us))


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """Where a partition the group never read starts, and the spread, for operators to see.

    Without a committed offset the router starts ``FIRST_READ_S`` back in time rather than at
    the end: a new operator's topic is found by a metadata refresh (up to 10 s late), and the
    frames published before that must be checked and routed too (a bad one dead-lettered) —
    while a new group still does not replay a day of history."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass  # offsets are committed after every batch: nothing to flush here

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # One request for every partition's committed offset (consumer.committed() asks one
        # partition at a time: hundreds of round trips inside the rebalance).
        committed = await self._consumer._coordinator.fetch_committed_offsets(list(assigned))
        fresh = [
            tp
            for tp in assigned
            if tp not in committed or committed[tp].offset is None or committed[tp].offset < 0
        ]
        if fresh:
            since_ms = int((time.time() - FIRST_READ_S) * 1000)
            found = await self._consumer.offsets_for_times({tp: since_ms for tp in fresh})
            ends = await self._consumer.end_offsets(fresh)
            for tp in fresh:
                at = found.get(tp)
                self._consumer.seek(tp, at.offset if at is not None else ends[tp])
        topics = sorted({tp.topic for tp in assigned})
        logger.info(
            "router partitions assigned: %d frames partitions of %d topics (%d new, read from"
            " %.0f s back)",
            len(assigned),
            len(topics),
            len(fresh),
            FIRST_READ_S,
        )


class Router:
    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        index: GrantIndex,
        index_ready: asyncio.Event,
        owners: Mapping[str, str] | None = None,
    ) -> None:
        self._owners: Mapping[str, str] = owners or {}
        self._index = index
        self._index_ready = index_ready
        self.stats = RouterStats()
        self._consumer = kafka_clients.consumer(
            bootstrap,
            group_id=group_id,
            client_id=f"{group_id}-router",
            # A new group starts with the live frames, not with a day of history.
            auto_offset_reset="latest",
            metadata_max_age_ms=10_000,  # a new operator's frames topic is found within 10 s
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        self._producer = kafka_clients.producer(bootstrap, client_id=f"{group_id}-router")

    async def run(self, stop: asyncio.Event) -> None:
        await self._index_ready.wait()  # fail closed: consume nothing before the grants
        await self._producer.start()
        self._consumer.subscribe(pattern=FRAMES_PATTERN, listener=_Assignment(self._consumer))
        await self._consumer.start()
        logger.info("router started (grant index ready, %d grants)", len(self._index))
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=200, max_records=BATCH)
                if batch:
                    await self._forward(batch)
        finally:
            await self._consumer.stop()
            await self._producer.stop()

    async def _forward(
        self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        acks: list[asyncio.Future[Any]] = []
        commit: dict[TopicPartition, OffsetAndMetadata] = {}
        now_us = to_epoch_us(datetime.now(UTC))
        for tp, records in batch.items():
            for record in records:
                routed = route(
                    record.topic, record.key, record.headers, self._index, now_us, self._owners
                )
                self.stats.frames += 1
                if routed.problem is not None:
                    self.stats.dead_letters += 1
                    logger.warning(
                        "%s[%d]@%d dead-lettered: %s",
                        record.topic,
                        record.partition,
                        record.offset,
                        routed.problem,
                    )
                    acks.append(
                        await send_dead_letter(
                            self._producer,
                            record,
                            stage=STAGE,
                            error_kind="HeaderError",
                            reason=routed.problem,
                        )
                    )
                headers = [(n, v or b"") for n, v in record.headers] if routed.grantees else []
                for grantee in routed.grantees:
                    self.stats.forwarded += 1
                    acks.append(
                        await self._producer.send(
                            shared_topic(grantee),
                            key=record.key,
                            value=record.value,
                            headers=headers,
                            timestamp_ms=record.timestamp,
                        )
                    )
            commit[tp] = OffsetAndMetadata(records[-1].offset + 1, "")
        await asyncio.gather(*acks)  # raises if a send failed: nothing is committed then
        try:
            await self._consumer.commit(commit)
        except CommitFailedError:
            # The group rebalanced under us (a worker joined or left, or the pattern found a
            # new operator's topic): the new owner of these partitions starts from the last
            # committed offset and forwards this batch again. At-least-once, not a failure.
            logger.info("router: batch forwarded but not committed (group rebalanced)")

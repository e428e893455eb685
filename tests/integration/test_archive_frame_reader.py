"""The archiver's Kafka edge (librdkafka through confluent-kafka) on the real broker: what the
archiver's no-loss argument relies on — headers intact, 'read up to the end' known per
partition, a commit is where the next member of the group starts, and a member joining takes
partitions away only after the revoke handler has run."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from minio import Minio

from consumers.archive.frame_reader import ConsumedRecord, FrameReader, ReaderSettings, Source
from schemas.headers import parse_frame_headers
from schemas.topics import frames_topic
from tests.builders import eventually
from tests.integration.archive_support import provision_operator, publish_frames


class _Member:
    """One reader of the group with the archiver's rebalance handlers recorded."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.assigned: list[Source] = []
        self.revoked: list[Source] = []
        self.reader = FrameReader(
            ReaderSettings(
                bootstrap=bootstrap,
                group_id=group,
                client_id="test-reader",
                subscription=[topic],
                session_timeout_ms=6_000,
            ),
            on_assigned=self._on_assigned,
            on_revoked=self._on_revoked,
        )

    async def _on_assigned(self, sources: Sequence[Source]) -> None:
        self.assigned += sources

    async def _on_revoked(self, sources: Sequence[Source]) -> None:
        self.revoked += sources

    async def read_all(self, timeout_s: float = 30.0) -> list[ConsumedRecord]:
        """Every record until each assigned partition is read up to its end."""
        records: list[ConsumedRecord] = []

        async def at_end() -> bool:
            records.extend(await self.reader.getmany(timeout_s=0.2, max_records=500))
            assignment = self.reader.assignment()
            return bool(assignment) and all(self.reader.at_end(s) for s in assignment)

        await eventually(
            at_end,
            timeout_s,
            interval_s=0,
            message=lambda: f"not at the end: {len(records)} records",
        )
        return records


async def test_records_commits_and_end_of_partition_as_the_archiver_uses_them(
    kafka_bootstrap: str, minio_client: Minio, unique: str
) -> None:
    operator = f"op-{unique}"
    topic = frames_topic(operator)
    await provision_operator(kafka_bootstrap, minio_client, operator)
    cameras = ["cam-a", "cam-b", "cam-c"]
    await publish_frames(kafka_bootstrap, operator, cameras, 20, interval_s=0)
    group = f"reader-{unique}"

    first = _Member(kafka_bootstrap, group, topic)
    await first.reader.start()
    try:
        records = await first.read_all()
        assert len(records) == 60
        assert {r.topic for r in records} == {topic}
        assert {parse_frame_headers(r.headers).camera_id for r in records} == set(cameras)
        assert {r.key for r in records} == {c.encode() for c in cameras}
        # Offsets per partition are consecutive from 0: nothing skipped.
        by_partition: dict[int, list[int]] = {}
        for record in records:
            by_partition.setdefault(record.partition, []).append(record.offset)
        assert all(offsets == list(range(len(offsets))) for offsets in by_partition.values())
        assert set(first.assigned) == {(topic, p) for p in range(6)}

        # Commit half of one partition: the next member starts there, not at the end.
        partition, offsets = max(by_partition.items(), key=lambda item: len(item[1]))
        half = len(offsets) // 2
        commits = {(topic, p): len(o) for p, o in by_partition.items()} | {(topic, partition): half}
        await first.reader.commit(commits)

        # New frames: at_end turns false until they are read.
        await publish_frames(kafka_bootstrap, operator, cameras, 2, interval_s=0)
        more = await first.read_all()
        assert len(more) == 6
    finally:
        await first.reader.stop()
    assert set(first.revoked) == {(topic, p) for p in range(6)}  # closing revokes first

    second = _Member(kafka_bootstrap, group, topic)
    await second.reader.start()
    try:
        again = await second.read_all()
    finally:
        await second.reader.stop()
    replayed = {(r.partition, r.offset) for r in again}
    expected = {(partition, o) for o in offsets[half:]} | {(r.partition, r.offset) for r in more}
    assert replayed == expected


async def test_a_joining_member_gets_partitions_only_after_they_were_revoked(
    kafka_bootstrap: str, minio_client: Minio, unique: str
) -> None:
    operator = f"op-{unique}"
    topic = frames_topic(operator)
    await provision_operator(kafka_bootstrap, minio_client, operator)
    group = f"reader-{unique}"
    first = _Member(kafka_bootstrap, group, topic)
    second = _Member(kafka_bootstrap, group, topic)
    await first.reader.start()
    try:
        while len(first.reader.assignment()) < 6:
            await first.reader.getmany(timeout_s=0.2, max_records=10)
        await second.reader.start()
        try:
            for _ in range(150):
                await asyncio.gather(
                    first.reader.getmany(timeout_s=0.1, max_records=10),
                    second.reader.getmany(timeout_s=0.1, max_records=10),
                )
                if second.reader.assignment():
                    break
            moved = second.reader.assignment()
            assert moved, "the second member never got partitions"
            assert moved <= set(first.revoked)
            assert not moved & first.reader.assignment()
            assert first.reader.assignment() | moved == {(topic, p) for p in range(6)}
        finally:
            await second.reader.stop()
    finally:
        await first.reader.stop()

"""Bad messages on a frames topic do not stop the archive and are not lost: each is on
`dead-letter` with the archiver's reason and the bytes as received, the good frames around
them are archived, and the offsets move past them (a restart does not dead-letter them again)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from minio import Minio

from consumers.archive.archiver import STAGE
from runtime.topic_reader import read_topic
from schemas.codec import DEAD_LETTER, FRAME
from schemas.headers import frame_headers
from schemas.records import DeadLetter, Frame
from schemas.topics import DEAD_LETTER as DEAD_LETTER_TOPIC
from schemas.topics import frames_topic
from tests.builders import frame, kafka_producer, poll
from tests.integration.archive_support import (
    archive_once,
    jpegs,
    provision_operator,
    publish_frames,
    read_manifests,
)

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _frame(operator: str, camera: str, sequence: int, image: bytes) -> Frame:
    return frame(
        operator,
        camera,
        sequence,
        at=START + timedelta(milliseconds=100 * sequence),
        image=image,
        width=64,
        height=48,
    )


async def _letters(bootstrap: str, topic: str, expected: int) -> list[DeadLetter]:
    """The archiver's dead letters from `topic` once there are `expected` (or after 30 s)."""

    async def mine() -> list[DeadLetter]:
        letters = [
            DEAD_LETTER.decode(r.value) for r in await read_topic(bootstrap, DEAD_LETTER_TOPIC)
        ]
        return [d for d in letters if d.source_topic == topic and d.stage == STAGE]

    return await poll(mine, 30, interval_s=0.5, until=lambda found: len(found) >= expected)


async def test_undecodable_messages_and_images_are_dead_lettered_and_the_rest_archived(
    kafka_bootstrap: str, minio_client: Minio, unique: str
) -> None:
    operator = f"op-{unique}"
    topic = frames_topic(operator)
    await provision_operator(kafka_bootstrap, minio_client, operator)
    sent = await publish_frames(kafka_bootstrap, operator, ["cam-a"], 10, interval_s=0)

    # Captured within the first window, which also holds good frames (a manifest).
    truncated = replace(
        _frame(operator, "cam-a", 10, jpegs()[0][:-64]),
        capture_time=START + timedelta(milliseconds=950),
    )
    foreign = _frame("someone-else", "cam-a", 11, jpegs()[0])
    async with kafka_producer(kafka_bootstrap, client_id="test-dead-letters") as producer:
        # Not Avro at all, behind valid headers.
        headers = list(frame_headers(_frame(operator, "cam-a", 12, b"")))
        await producer.send_and_wait(topic, key=b"cam-a", value=b"garbage", headers=headers)
        # A frame whose JPEG was cut short on the way.
        await producer.send_and_wait(
            topic, key=b"cam-a", value=FRAME.encode(truncated), headers=frame_headers(truncated)
        )
        # A frame of another operator on this operator's topic.
        await producer.send_and_wait(
            topic, key=b"cam-a", value=FRAME.encode(foreign), headers=frame_headers(foreign)
        )
    await publish_frames(
        kafka_bootstrap, operator, ["cam-a"], 10, interval_s=0, start=START + timedelta(seconds=2)
    )

    await archive_once(kafka_bootstrap, minio_client, operator, 20)
    letters = await _letters(kafka_bootstrap, topic, expected=3)
    by_kind = {d.error_kind: d for d in letters}
    assert set(by_kind) == {"DecodeError", "UndecodableImage", "WrongOperator"}
    assert by_kind["DecodeError"].value == b"garbage"
    assert by_kind["UndecodableImage"].value == truncated.image
    assert "truncated JPEG" in by_kind["UndecodableImage"].reason
    assert "someone-else" in by_kind["WrongOperator"].reason
    assert FRAME.decode(by_kind["WrongOperator"].value) == foreign

    manifests = read_manifests(minio_client, operator)
    archived = sorted(f["sequence"] for m in manifests for f in m["frames"])
    assert len(archived) == 20
    assert set(archived) >= set(sent["cam-a"])
    # The rejected image is accounted for in its chunk's manifest, not silently missing.
    rejected = [r for m in manifests for r in m["rejected"]]
    assert [r["sequence"] for r in rejected] == [10]

    # Offsets moved past the bad messages: a second run, which must read past them to archive
    # 5 new frames, has nothing to dead-letter again.
    await publish_frames(
        kafka_bootstrap, operator, ["cam-a"], 5, interval_s=0, start=START + timedelta(seconds=5)
    )
    await archive_once(kafka_bootstrap, minio_client, operator, 25)
    assert len(await _letters(kafka_bootstrap, topic, expected=3)) == 3

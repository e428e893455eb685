"""What an archived chunk is in MinIO: a video standard tools play, with a manifest that
accounts for every frame; the operator's retention as a lifecycle rule; evidence under legal
hold that nobody can delete; per-operator credentials that read their own bucket only."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from minio import Minio
from minio.error import S3Error

from consumers.archive import manifest as manifests
from consumers.archive.chunker import ArchivedFrame, Chunk
from consumers.archive.encode import encode_chunk
from consumers.archive.hold import hold_window
from consumers.archive.store import ChunkStore, archiver_client, checksummed
from infra.provision import ensure_operator_user, set_archive_retention
from runtime import connection
from runtime.connection import Connection
from runtime.topic_reader import read_topic
from schemas.codec import AUDIT_RECORD
from schemas.config import ArchiveProfile
from schemas.headers import to_epoch_us
from schemas.records import AuditAction
from schemas.storage import archive_bucket
from schemas.topics import AUDIT_DRAFTS, frames_topic
from tests.integration.archive_support import (
    archive_once,
    jpegs,
    provision_operator,
    publish_frames,
    read_manifests,
)

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CAMERAS = ["cam-a", "cam-b"]
PER_CAMERA = 30  # 3 s of capture at 100 ms: three 1 s windows per camera


@pytest.fixture(scope="module")
async def archived(kafka_bootstrap: str, minio_client: Minio) -> str:
    """An operator with two cameras' frames archived (H.264 profile)."""
    operator = f"op-{uuid.uuid4().hex[:8]}"
    await provision_operator(kafka_bootstrap, minio_client, operator)
    await publish_frames(kafka_bootstrap, operator, CAMERAS, PER_CAMERA, interval_s=0.0)
    await archive_once(kafka_bootstrap, minio_client, operator, len(CAMERAS) * PER_CAMERA)
    return operator


def _read(minio: Minio, bucket: str, key: str) -> bytes:
    response = minio.get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


async def test_each_chunk_is_a_playable_video_holding_exactly_its_manifest_frames(
    archived: str, minio_client: Minio
) -> None:
    found = await asyncio.to_thread(read_manifests, minio_client, archived)
    assert sum(m["frame_count"] for m in found) == len(CAMERAS) * PER_CAMERA
    assert len(found) == len(CAMERAS) * 3  # 1 s windows, cut on capture time
    for manifest in found:
        video = await asyncio.to_thread(
            _read, minio_client, archive_bucket(archived), manifest["video_key"]
        )
        assert hashlib.sha256(video).hexdigest() == manifest["video_sha256"]
        assert len(video) == manifest["video_bytes"]
        assert (manifest["container"], manifest["codec"]) == ("mp4", "h264")
        with av.open(io.BytesIO(video), "r") as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            pts = [frame.pts for frame in container.decode(stream)]
        assert len(pts) == manifest["frame_count"]
        capture = [f["capture_us"] for f in manifest["frames"]]
        assert capture == sorted(capture)
        assert manifest["first_sequence"] == min(f["sequence"] for f in manifest["frames"])
        event = manifests.archive_chunk_of(manifest)
        assert event.window_end - event.window_start == timedelta(seconds=1)


async def test_minio_refuses_an_archiver_put_whose_body_differs_from_its_sha256(
    archived: str, live_stack: Connection
) -> None:
    """The archiver sends each object's SHA-256 (the manifest's) instead of minio-py's
    Content-MD5: MinIO must check it, or a body damaged on the way would be stored."""
    client = archiver_client(live_stack)
    bucket = archive_bucket(archived)
    body = b"a chunk's bytes"
    await asyncio.to_thread(
        client.put_object,
        bucket,
        "checksum-test/matching",
        io.BytesIO(body),
        len(body),
        metadata=checksummed(hashlib.sha256(body).digest()),
    )
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(
            client.put_object,
            bucket,
            "checksum-test/damaged",
            io.BytesIO(body),
            len(body),
            metadata=checksummed(hashlib.sha256(b"the bytes hashed").digest()),
        )
    assert refused.value.code == "XAmzContentChecksumMismatch"
    names = await asyncio.to_thread(
        lambda: [o.object_name for o in client.list_objects(bucket, prefix="checksum-test/")]
    )
    assert names == ["checksum-test/matching"]


async def test_a_replay_after_a_new_assignment_finds_what_another_archiver_stored_meanwhile(
    kafka_bootstrap: str, minio_client: Minio, live_stack: Connection
) -> None:
    """An archiver keeps a camera-hour's listing while it replays. If its partitions went to
    another member, which stored chunks of that hour and died before committing, and then came
    back, the replay must see those chunks (or it would store their frames twice): a new
    assignment forgets the listings."""
    operator = f"op-{uuid.uuid4().hex[:8]}"
    await provision_operator(kafka_bootstrap, minio_client, operator)
    mine, theirs = ChunkStore(archiver_client(live_stack)), ChunkStore(archiver_client(live_stack))

    def chunk(first_offset: int) -> Chunk:
        window = Chunk(operator, "cam-a", frames_topic(operator), 0, to_epoch_us(START), 10**7)
        window.frames = [
            ArchivedFrame(window.topic, 0, first_offset + i, operator, "cam-a", first_offset + i,
                          window.window_start_us + i * 100_000, 320, 180, image)
            for i, image in enumerate(jpegs(3))
        ]  # fmt: skip
        return window

    first, second = chunk(0), chunk(100)
    await asyncio.to_thread(
        mine.put, first, encode_chunk(first, ArchiveProfile.MJPEG), datetime.now(UTC)
    )
    assert len(await asyncio.to_thread(mine.stored_manifests, first)) == 1  # listing kept
    await asyncio.to_thread(
        theirs.put, second, encode_chunk(second, ArchiveProfile.MJPEG), datetime.now(UTC)
    )
    mine.forget_listings()  # what Archiver.on_partitions_assigned does
    found = await asyncio.to_thread(mine.stored_manifests, first)
    assert sorted(f["offset"] for m in found for f in m["frames"]) == [0, 1, 2, 100, 101, 102]


async def test_retention_is_a_lifecycle_rule_that_also_expires_old_versions_and_markers(
    archived: str, minio_client: Minio
) -> None:
    bucket = archive_bucket(archived)
    await asyncio.to_thread(set_archive_retention, minio_client, bucket, 30)
    config = await asyncio.to_thread(minio_client.get_bucket_lifecycle, bucket)
    assert config is not None
    rules = {rule.rule_id: rule for rule in config.rules}
    retention = rules["vigie-retention"]
    markers = rules["vigie-expired-delete-markers"]
    assert retention.status == "Enabled"
    assert retention.expiration is not None
    assert retention.expiration.days == 29
    assert retention.noncurrent_version_expiration is not None
    assert retention.noncurrent_version_expiration.noncurrent_days == 1
    assert markers.expiration is not None
    assert markers.expiration.expired_object_delete_marker


async def test_held_evidence_cannot_be_deleted_until_released_and_both_are_audited(
    archived: str, minio_client: Minio, kafka_bootstrap: str
) -> None:
    bucket = archive_bucket(archived)
    start, end = START + timedelta(seconds=1), START + timedelta(seconds=2)
    held = await hold_window(
        kafka_bootstrap,
        minio_client,
        operator=archived,
        cameras=["cam-a"],
        start=start,
        end=end,
        actor="inspector-1",
        reason="pursuit evidence",
        incident_id=f"inc-{archived}",
    )
    assert len(held.objects) == 2  # the one chunk of [1 s, 2 s): video and manifest
    video_key = next(k for k in held.objects if k.endswith(".mp4"))
    assert await asyncio.to_thread(minio_client.is_object_legal_hold_enabled, bucket, video_key)
    version = (await asyncio.to_thread(minio_client.stat_object, bucket, video_key)).version_id
    with pytest.raises(S3Error) as refused:
        await asyncio.to_thread(minio_client.remove_object, bucket, video_key, version)
    assert "WORM protected" in str(refused.value.message)
    # Chunks outside the window are not held.
    others = await asyncio.to_thread(read_manifests, minio_client, archived)
    free = [m["video_key"] for m in others if m["video_key"] not in held.objects]
    assert not await asyncio.to_thread(minio_client.is_object_legal_hold_enabled, bucket, free[0])

    released = await hold_window(
        kafka_bootstrap,
        minio_client,
        operator=archived,
        cameras=["cam-a"],
        start=start,
        end=end,
        actor="inspector-1",
        reason="case closed",
        incident_id=f"inc-{archived}",  # a release lifts its own holder's hold, no other
        release=True,
    )
    assert set(released.objects) == set(held.objects)
    assert not await asyncio.to_thread(minio_client.is_object_legal_hold_enabled, bucket, video_key)
    drafts = [AUDIT_RECORD.decode(r.value) for r in await read_topic(kafka_bootstrap, AUDIT_DRAFTS)]
    mine = [d for d in drafts if d.operator == archived]
    assert [d.action for d in mine] == [AuditAction.LEGAL_HOLD, AuditAction.LEGAL_HOLD_RELEASE]
    assert mine[0].actor == "inspector-1"
    assert mine[0].details["objects"] == "2"


async def test_operator_credentials_read_their_own_archive_and_are_refused_another(
    archived: str,
    minio_client: Minio,
    live_stack: Connection,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    other = f"op-{uuid.uuid4().hex[:8]}"
    await provision_operator(kafka_bootstrap, minio_client, other)
    admin = connection.minio_admin(live_stack)
    creds = await asyncio.to_thread(ensure_operator_user, admin, tmp_path, archived)
    again = await asyncio.to_thread(ensure_operator_user, admin, tmp_path, archived)
    assert again == creds  # idempotent: same user, same secret
    secret_file = tmp_path / "minio" / "operators" / f"{archived}.json"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    await asyncio.sleep(0.5)  # IAM changes reach the S3 API asynchronously
    own = connection.minio_client(
        dataclasses.replace(
            live_stack, minio_access_key=creds.access_key, minio_secret_key=creds.secret_key
        )
    )
    bucket = archive_bucket(archived)
    keys = [o.object_name or "" for o in own.list_objects(bucket, recursive=True)]
    assert keys
    assert _read(own, bucket, keys[0])
    with pytest.raises(S3Error) as refused:
        list(own.list_objects(archive_bucket(other), recursive=True))
    assert refused.value.code == "AccessDenied"
    with pytest.raises(S3Error) as refused_write:
        own.put_object(bucket, "cam-a/forged.mp4", io.BytesIO(b"x"), 1)
    assert refused_write.value.code == "AccessDenied"

"""Archive retrieval (the service the room and evidence exports use): an operator reads its own
archive with its own MinIO user; another operator's archive is refused without an archive grant
and handed out (short-lived presigned URLs signed by the retrieval user, never root) once the
`grants` topic holds one; every answer is audited before it is given. People reach it through
the room (`tests/e2e/test_room.py`)."""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio

from consumers.archive.evidence import export_incident
from consumers.retrieval.service import RetrievalRefused, Retrieved, retrieve
from infra.local.settings import Connection, StackSettings
from infra.provision import ensure_operator_user
from runtime import connection
from runtime.topic_reader import read_topic
from schemas.codec import AUDIT_RECORD, GRANT
from schemas.records import AuditAction, Grant, GrantStatus
from schemas.topics import AUDIT_DRAFTS, GRANTS
from tests.builders import kafka_producer
from tests.integration.archive_support import archive_once, provision_operator, publish_frames
from tests.support import run_vigie

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _download(url: str) -> bytes:
    """A presigned URL fetched as a user's browser would: HTTPS, MinIO's certificate checked
    against the stack's CA."""
    context = ssl.create_default_context(cafile=connection.load().minio_ca_file)
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        data: bytes = response.read()
    return data


async def _retrieve(requester: str, owner: str, out_dir: Path | None = None) -> Retrieved:
    return await retrieve(
        connection.load(),
        connection.state_dir(),
        requester=requester,
        owner=owner,
        camera_id="cam-a",
        start=START,
        end=START + timedelta(seconds=2),
        actor="analyst",
        reason="test retrieval",
        out_dir=out_dir,
    )


async def test_own_archive_directly_another_only_with_an_archive_grant_all_audited(
    kafka_bootstrap: str,
    minio_client: Minio,
    live_stack: Connection,
    stack_settings: StackSettings,
    unique: str,
    tmp_path: Path,
) -> None:
    owner, other = f"own-{unique}", f"oth-{unique}"
    for op in (owner, other):
        await provision_operator(kafka_bootstrap, minio_client, op)
    admin = connection.minio_admin(live_stack)
    await asyncio.to_thread(ensure_operator_user, admin, stack_settings.state_dir, owner)
    await publish_frames(kafka_bootstrap, owner, ["cam-a"], 30, interval_s=0.0)
    await archive_once(kafka_bootstrap, minio_client, owner, 30)

    own = await _retrieve(owner, owner, tmp_path / "own")
    assert own.decision.reason == "own camera"
    assert len(list((tmp_path / "own").glob("*.mp4"))) == 2

    with pytest.raises(RetrievalRefused, match="no archive grant"):
        await _retrieve(other, owner)

    grant = Grant(
        grant_id=f"g-{unique}",
        incident_id=f"inc-{unique}",
        camera_id="cam-a",
        owner_operator=owner,
        grantee_operator=other,
        live=True,
        archive=True,
        valid_from=START - timedelta(hours=1),
        valid_until=START + timedelta(hours=1),
        legal_basis="test",
        agreement_id="agr-test",
        granted_by="test",
        status=GrantStatus.ACTIVE,
    )
    await _publish_grant(kafka_bootstrap, grant)

    allowed = await _retrieve(other, owner)
    urls = [clip.url for clip in allowed.clips if clip.url]
    assert len(urls) == 2
    assert "vigie-retrieval" in urls[0]  # signed by the retrieval user, not root
    video = await asyncio.to_thread(_download, urls[0])
    assert video[4:8] == b"ftyp"  # an MP4, fetched without any credentials
    assert "X-Amz-Expires=300" in urls[0]

    drafts = [AUDIT_RECORD.decode(r.value) for r in await read_topic(kafka_bootstrap, AUDIT_DRAFTS)]
    archive_actions = {AuditAction.ARCHIVE_RETRIEVAL, AuditAction.REFUSAL}
    actions = [
        (d.operator, d.action)
        for d in drafts
        if d.subject_operator == owner and d.action in archive_actions
    ]
    assert actions == [
        (owner, AuditAction.ARCHIVE_RETRIEVAL),
        (other, AuditAction.REFUSAL),
        (other, AuditAction.ARCHIVE_RETRIEVAL),
    ]


async def _publish_grant(bootstrap: str, grant: Grant) -> None:
    async with kafka_producer(bootstrap, client_id="test-archive-grants") as producer:
        await producer.send_and_wait(GRANTS, key=grant.grant_id.encode(), value=GRANT.encode(grant))


async def test_evidence_export_of_an_incident_verifies_and_detects_tampering(
    kafka_bootstrap: str,
    minio_client: Minio,
    unique: str,
    tmp_path: Path,
) -> None:
    """The grantee exports what the incident's archive grants allowed: clips, manifests, hashes
    and a receipt; `verify` passes on the package and names a clip altered afterwards."""
    owner, other = f"own-{unique}", f"oth-{unique}"
    for op in (owner, other):
        await provision_operator(kafka_bootstrap, minio_client, op)
    await publish_frames(kafka_bootstrap, owner, ["cam-a"], 30, interval_s=0.0)
    await archive_once(kafka_bootstrap, minio_client, owner, 30)
    incident = f"inc-{unique}"
    await _publish_grant(
        kafka_bootstrap,
        Grant(
            grant_id=f"{incident}:cam-a",
            incident_id=incident,
            camera_id="cam-a",
            owner_operator=owner,
            grantee_operator=other,
            live=True,
            archive=True,
            valid_from=START - timedelta(minutes=1),
            valid_until=START + timedelta(hours=1),
            legal_basis="Art. 25/3 LFP",
            agreement_id="agr-test",
            granted_by="vigie-policy",
            status=GrantStatus.REVOKED,
            revoked_at=START + timedelta(seconds=3),  # closed: still exportable up to here
        ),
    )

    conn, state = connection.load(), connection.state_dir()
    with pytest.raises(RetrievalRefused):
        await export_incident(conn, state, incident_id=incident, requester=owner, actor="x",
                              reason="x", out_root=tmp_path)  # fmt: skip
    package = await export_incident(
        conn, state, incident_id=incident, requester=other, actor="clerk",
        reason="court request 2026/123", out_root=tmp_path,
    )  # fmt: skip
    clips = sorted((package / "clips" / owner / "cam-a").iterdir())
    # 1-second chunks from START on; the grant was revoked at START + 3 s: three chunks.
    assert len([c for c in clips if c.suffix == ".mp4"]) == 3
    receipt = (package / "receipt.json").read_text()
    assert "court request 2026/123" in receipt
    assert "Art. 25/3 LFP" in receipt

    intact = await asyncio.to_thread(run_vigie, "archive", "verify", str(package))
    assert intact.returncode == 0, intact.stdout
    assert "OK" in intact.stdout

    video = next(c for c in clips if c.suffix == ".mp4")
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF
    video.write_bytes(bytes(data))
    tampered = await asyncio.to_thread(run_vigie, "archive", "verify", str(package))
    assert tampered.returncode == 1
    assert video.name in tampered.stdout
    assert "NOT INTACT" in tampered.stdout

    drafts = [AUDIT_RECORD.decode(r.value) for r in await read_topic(kafka_bootstrap, AUDIT_DRAFTS)]
    exports = [d for d in drafts if d.action is AuditAction.EXPORT and d.incident_id == incident]
    assert [(d.operator, d.reason) for d in exports] == [(other, "court request 2026/123")]

"""An incident's evidence hold (the room's `POST /api/incidents/{id}/hold`): every archived
chunk of the cameras the incident's grants reached, over the windows they covered, is put under
legal hold by the evidence user (retention cannot delete it); `release` lifts it; both audited
before they are done."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from minio import Minio

from consumers.archive.evidence import hold_incident
from consumers.archive.hold import hold_window
from runtime import connection
from runtime.topic_reader import read_partitions
from schemas.codec import AUDIT_RECORD, GRANT
from schemas.records import AuditAction, Grant, GrantStatus
from schemas.security import MINIO_EVIDENCE
from schemas.storage import archive_bucket
from schemas.topics import AUDIT_DRAFTS, GRANTS
from tests.builders import kafka_producer
from tests.integration.archive_support import (
    archive_once,
    provision_operator,
    publish_frames,
    read_manifests,
)

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def test_incident_hold_covers_exactly_the_granted_windows_and_release_lifts_it(
    kafka_bootstrap: str, minio_client: Minio, unique: str
) -> None:
    owner, police = f"own-{unique}", f"pol-{unique}"
    for op in (owner, police):
        await provision_operator(kafka_bootstrap, minio_client, op)
    await publish_frames(kafka_bootstrap, owner, ["cam-a", "cam-b"], 30, interval_s=0.0)
    await archive_once(kafka_bootstrap, minio_client, owner, 60)
    incident = f"inc-{unique}"
    grant = Grant(
        grant_id=f"{incident}:cam-a",
        incident_id=incident,
        camera_id="cam-a",
        owner_operator=owner,
        grantee_operator=police,
        live=True,
        archive=False,  # live only: the owner's archive of that period is evidence all the same
        valid_from=START,
        valid_until=START + timedelta(hours=1),
        legal_basis="art. 25",
        agreement_id="agr",
        granted_by="vigie-policy",
        status=GrantStatus.REVOKED,
        revoked_at=START + timedelta(seconds=2),
    )
    async with kafka_producer(kafka_bootstrap, client_id="test-incident-hold") as producer:
        await producer.send_and_wait(GRANTS, key=grant.grant_id.encode(), value=GRANT.encode(grant))

    conn = connection.load()
    held = await hold_incident(conn, incident_id=incident, actor="magistrate", reason="case 42")
    assert len(held) == 1
    bucket = archive_bucket(owner)
    manifests = await asyncio.to_thread(read_manifests, minio_client, owner)

    def hold_of(camera: str) -> dict[datetime, bool]:
        return {
            datetime.fromisoformat(m["window_start"]): minio_client.is_object_legal_hold_enabled(
                bucket, m["video_key"]
            )
            for m in manifests
            if m["camera_id"] == camera
        }

    cam_a = await asyncio.to_thread(hold_of, "cam-a")
    assert {t for t, on in cam_a.items() if on} == {
        t for t in cam_a if t < START + timedelta(seconds=2)
    }
    assert any(not on for on in cam_a.values())  # after the revocation: not held
    assert not any((await asyncio.to_thread(hold_of, "cam-b")).values())  # never granted

    # Operations hold the same chunks too: the incident's release must not lift their hold.
    evidence = connection.minio_client(connection.as_minio_service(conn, MINIO_EVIDENCE))
    window = {"operator": owner, "cameras": ["cam-a"], "start": START,
              "end": START + timedelta(seconds=2)}  # fmt: skip
    await hold_window(kafka_bootstrap, evidence, **window, actor="ops", reason="audit")  # type: ignore[arg-type]
    await hold_incident(
        conn, incident_id=incident, actor="magistrate", reason="case closed", release=True
    )
    assert await asyncio.to_thread(hold_of, "cam-a") == cam_a  # still held by operations
    await hold_window(kafka_bootstrap, evidence, **window, actor="ops", reason="done",  # type: ignore[arg-type]
                      release=True)  # fmt: skip
    assert not any((await asyncio.to_thread(hold_of, "cam-a")).values())

    drafts = [
        AUDIT_RECORD.decode(r.value or b"")
        for rs in (await read_partitions(kafka_bootstrap, AUDIT_DRAFTS)).values()
        for r in rs
    ]
    actions = [d.action for d in drafts if d.incident_id == incident]
    assert actions == [AuditAction.LEGAL_HOLD, AuditAction.LEGAL_HOLD_RELEASE]
    assert [d.operator for d in drafts if d.incident_id == incident] == [owner, owner]

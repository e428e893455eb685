"""Archive retrieval: list or fetch a camera's chunks over a time window, after checking the
requester's right to them, and audit every answer (allowed or refused).

An operator's own cameras are read with its own MinIO user (which reads its bucket only);
another operator's through this service's credentials, only once :func:`archive_access`
found an archive grant covering the window. Clips are handed out as short-lived presigned
URLs or written to a folder (video and manifest side by side).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from minio import Minio

from consumers.archive import audit
from consumers.archive.catalog import StoredChunk, chunks_between
from consumers.retrieval.access import Decision, archive_access, latest_grants
from runtime.connection import Connection, as_minio_service, minio_client
from runtime.credentials import load_operator_credentials
from runtime.topic_reader import read_topic
from schemas.codec import GRANT
from schemas.errors import EXIT_REFUSED, VigieError
from schemas.records import AuditAction, Grant
from schemas.security import MINIO_RETRIEVAL
from schemas.topics import GRANTS

__all__ = ["URL_LIFETIME", "Clip", "RetrievalRefused", "Retrieved", "retrieve"]

logger = logging.getLogger(__name__)

URL_LIFETIME = timedelta(minutes=5)


class RetrievalRefused(VigieError):
    """The requester may not retrieve this archive (the reason says why)."""

    exit_code = EXIT_REFUSED

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused: {reason} (audited)")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Clip:
    chunk: StoredChunk
    url: str | None = None
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Retrieved:
    decision: Decision
    clips: tuple[Clip, ...]


async def read_grants(bootstrap: str) -> list[tuple[str, Grant | None]]:
    records = await read_topic(bootstrap, GRANTS)
    return [
        ((r.key or b"").decode(), None if r.value is None else GRANT.decode(r.value))
        for r in records
    ]


def _fetch(
    client: Minio, chunks: list[StoredChunk], out_dir: Path | None, lifetime: timedelta
) -> list[Clip]:
    clips = []
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for chunk in chunks:
        if out_dir is None:
            url = client.presigned_get_object(chunk.bucket, chunk.video_key, expires=lifetime)
            clips.append(Clip(chunk, url=url))
            continue
        target = out_dir / chunk.video_key.replace("/", "_")
        client.fget_object(chunk.bucket, chunk.video_key, str(target))
        client.fget_object(
            chunk.bucket, chunk.manifest_key, str(out_dir / chunk.manifest_key.replace("/", "_"))
        )
        clips.append(Clip(chunk, path=target))
    return clips


def _covered(
    chunk: StoredChunk,
    requester: str,
    owner: str,
    camera_id: str,
    grants: Mapping[str, Grant] | None,
) -> bool:
    first, last = chunk.captured_span()
    return archive_access(
        requester=requester,
        owner=owner,
        camera_id=camera_id,
        start=first,
        end=last,
        grants=(grants or {}).values(),
    ).allowed


async def retrieve(
    conn: Connection,
    state_dir: Path,
    *,
    requester: str,
    owner: str,
    camera_id: str,
    start: datetime,
    end: datetime,
    actor: str,
    reason: str,
    out_dir: Path | None = None,
    lifetime: timedelta = URL_LIFETIME,
    grants: Mapping[str, Grant] | None = None,
) -> Retrieved:
    """The chunks of ``owner``'s camera over [start, end) for ``requester``, as presigned URLs
    (default) or files in ``out_dir``; RetrievalRefused if not allowed. Audited
    either way. ``grants``: the latest grants by id when the caller has read them already
    (an export of many windows reads the topic once)."""
    if requester == owner:
        decision = archive_access(
            requester=requester, owner=owner, camera_id=camera_id, start=start, end=end, grants=()
        )
        creds = load_operator_credentials(state_dir, requester)
        if creds is None:
            raise RetrievalRefused(
                f"operator {requester} has no MinIO user yet: run `vigie provision`"
            )
        client = minio_client(
            replace(conn, minio_access_key=creds.access_key, minio_secret_key=creds.secret_key)
        )
    else:
        if grants is None:
            grants = latest_grants(await read_grants(conn.kafka_bootstrap))
        decision = archive_access(
            requester=requester,
            owner=owner,
            camera_id=camera_id,
            start=start,
            end=end,
            grants=grants.values(),
        )
        # After the grant check, with the retrieval user (read-only), never root.
        client = minio_client(as_minio_service(conn, MINIO_RETRIEVAL))
    details = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "mode": "files" if out_dir else "presigned-urls",
        "decision": decision.reason,
    }
    if decision.grant_ids:
        details["grants"] = ",".join(decision.grant_ids)
    if not decision.allowed:
        await audit.publish(
            conn.kafka_bootstrap,
            [
                audit.draft(
                    actor=actor,
                    operator=requester,
                    action=AuditAction.REFUSAL,
                    reason=f"archive retrieval refused: {decision.reason}",
                    subject_operator=owner,
                    camera_id=camera_id,
                    details=details,
                )
            ],
        )
        raise RetrievalRefused(decision.reason)
    chunks = await asyncio.to_thread(chunks_between, client, owner, camera_id, start, end)
    if requester != owner:
        # A chunk overlapping the window may hold frames before or after what the grants
        # cover (its window is a bucket of capture time): only whole-covered chunks go out.
        granted = [c for c in chunks if _covered(c, requester, owner, camera_id, grants)]
        if len(granted) < len(chunks):
            details["withheld"] = str(len(chunks) - len(granted))
        chunks = granted
    details["chunks"] = str(len(chunks))
    # Audited before any byte or URL goes out: if the record cannot be written, nothing is.
    await audit.publish(
        conn.kafka_bootstrap,
        [
            audit.draft(
                actor=actor,
                operator=requester,
                action=AuditAction.ARCHIVE_RETRIEVAL,
                reason=reason,
                subject_operator=owner,
                camera_id=camera_id,
                details=details,
            )
        ],
    )
    clips = await asyncio.to_thread(_fetch, client, chunks, out_dir, lifetime)
    return Retrieved(decision, tuple(clips))

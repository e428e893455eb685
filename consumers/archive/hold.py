"""Legal hold on archived evidence: every chunk (video and manifest) of some cameras over a
time window is placed under S3 object-lock legal hold, so that neither retention (lifecycle)
nor anyone else can delete it until the hold is released. Each hold and release is audited.

:func:`hold_window` is what `vigie archive hold|release` and `vigie incident hold` call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from minio import Minio

from consumers.archive import audit
from consumers.archive.catalog import chunks_between
from schemas.records import AuditAction
from schemas.storage import archive_bucket

__all__ = ["HoldResult", "hold_window", "set_legal_hold"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HoldResult:
    operator: str
    bucket: str
    cameras: tuple[str, ...]
    start: datetime
    end: datetime
    held: bool
    """True for a hold, False for a release."""
    objects: tuple[str, ...]
    """Keys of the objects whose legal hold was set (or lifted)."""


def chunk_keys(
    client: Minio, operator: str, cameras: Sequence[str], start: datetime, end: datetime
) -> list[str]:
    """Keys of every chunk object of ``cameras`` overlapping [start, end). Blocking."""
    return [
        key
        for camera in cameras
        for chunk in chunks_between(client, operator, camera, start, end)
        for key in chunk.keys
    ]


def set_legal_hold(client: Minio, bucket: str, keys: Sequence[str], *, on: bool) -> None:
    """Set (or lift) the legal hold of `keys` in `bucket`. Blocking."""
    for key in keys:
        if on:
            client.enable_object_legal_hold(bucket, key)
        else:
            client.disable_object_legal_hold(bucket, key)


async def hold_window(
    bootstrap: str,
    client: Minio,
    *,
    operator: str,
    cameras: Sequence[str],
    start: datetime,
    end: datetime,
    actor: str,
    reason: str,
    incident_id: str | None = None,
    legal_basis: str | None = None,
    release: bool = False,
) -> HoldResult:
    """Hold (or release) an operator's chunks of ``cameras`` over [start, end), audited first:
    if the audit record cannot be written, nothing is held or released.

    ``actor`` is who asked, ``reason`` why (both go to the audit record). `client` holds the
    evidence user's credentials (``MINIO_EVIDENCE``): it may hold, not delete."""
    if end <= start:
        raise ValueError(f"empty window: {start.isoformat()} is not before {end.isoformat()}")
    keys = await asyncio.to_thread(chunk_keys, client, operator, cameras, start, end)
    action = AuditAction.LEGAL_HOLD_RELEASE if release else AuditAction.LEGAL_HOLD
    await audit.publish(
        bootstrap,
        [
            audit.draft(
                actor=actor,
                operator=operator,
                action=action,
                reason=reason,
                subject_operator=operator,
                camera_id=cameras[0] if len(cameras) == 1 else None,
                incident_id=incident_id,
                legal_basis=legal_basis,
                details={
                    "bucket": archive_bucket(operator),
                    "cameras": ",".join(cameras),
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "objects": str(len(keys)),
                },
            )
        ],
    )
    await asyncio.to_thread(set_legal_hold, client, archive_bucket(operator), keys, on=not release)
    logger.info(
        "%s %d objects of %s cameras %s [%s, %s)",
        "released" if release else "held",
        len(keys),
        operator,
        ",".join(cameras),
        start.isoformat(),
        end.isoformat(),
    )
    return HoldResult(
        operator=operator,
        bucket=archive_bucket(operator),
        cameras=tuple(cameras),
        start=start,
        end=end,
        held=not release,
        objects=tuple(keys),
    )

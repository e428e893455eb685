"""Legal hold on archived evidence: every chunk (video and manifest) of some cameras over a
time window is placed under S3 object-lock legal hold, so that neither retention (lifecycle)
nor anyone else can delete it until the hold is released. Each hold and release is audited.

An object's legal hold is one flag, but several may need it (two incidents that shared the same
camera, an operations hold): each holder is written as an object tag ``vigie-hold/<holder>``,
and a release removes its own tag and lifts the flag only when no other holder remains.

:func:`hold_window` is what `vigie archive hold|release` and `vigie incident hold` call.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from minio import Minio
from minio.commonconfig import Tags

from consumers.archive import audit
from consumers.archive.catalog import chunks_between
from schemas.records import AuditAction
from schemas.storage import archive_bucket

__all__ = ["HoldResult", "hold_window", "holder_tag", "remaining_holders", "set_legal_hold"]

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


HOLD_TAG = "vigie-hold/"


def holder_tag(holder: str) -> str:
    """The tag key of one holder (S3 tag keys: letters, digits and ``+-=._:/@``, 128 long)."""
    safe = re.sub(r"[^A-Za-z0-9+\-=._:/@]", "_", holder)
    return (HOLD_TAG + safe)[:128]


def remaining_holders(tags: Mapping[str, str], leaving: str) -> set[str]:
    """The hold tags left once `leaving` releases (pure)."""
    return {k for k in tags if k.startswith(HOLD_TAG) and k != holder_tag(leaving)}


def set_legal_hold(
    client: Minio, bucket: str, keys: Sequence[str], holder: str, *, on: bool
) -> list[str]:
    """Hold `keys` for `holder` (or release its hold); the keys whose legal hold flag changed
    or stays on for it. Blocking."""
    changed = []
    for key in keys:
        tags = Tags.new_object_tags()
        tags.update(client.get_object_tags(bucket, key) or {})
        if on:
            tags[holder_tag(holder)] = "1"
            client.set_object_tags(bucket, key, tags)
            client.enable_object_legal_hold(bucket, key)
            changed.append(key)
            continue
        if holder_tag(holder) not in tags:
            continue  # never held by this holder: not its hold to lift
        others = remaining_holders(tags, holder)
        del tags[holder_tag(holder)]
        client.set_object_tags(bucket, key, tags)
        if not others:
            client.disable_object_legal_hold(bucket, key)
        changed.append(key)
    return changed


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
    actor_operator: str | None = None,
) -> HoldResult:
    """Hold (or release) an operator's chunks of ``cameras`` over [start, end), audited first:
    if the audit record cannot be written, nothing is held or released.

    ``actor`` is who asked (of ``actor_operator``; None: operations), ``reason`` why (both go
    to the audit record). The holder is the incident, or operations without one: a release
    lifts only that holder's hold. `client` holds the evidence user's credentials
    (``MINIO_EVIDENCE``): it may hold, not delete."""
    if end <= start:
        raise ValueError(f"empty window: {start.isoformat()} is not before {end.isoformat()}")
    keys = await asyncio.to_thread(chunk_keys, client, operator, cameras, start, end)
    action = AuditAction.LEGAL_HOLD_RELEASE if release else AuditAction.LEGAL_HOLD
    await audit.publish(
        bootstrap,
        [
            audit.draft(
                actor=actor,
                operator=actor_operator or operator,
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
    holder = f"incident:{incident_id}" if incident_id else "operations"
    keys = await asyncio.to_thread(
        set_legal_hold, client, archive_bucket(operator), keys, holder, on=not release
    )
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

"""The archive in the room: a camera's timeline over a window (chunks and gaps) and the
playback of one chunk.

The user's operator reads its own cameras' archive with its own MinIO user; another operator's
only through an archive grant covering the window (checked here on the grants the policy
wrote, then enforced by MinIO: the retrieval user may only read). A refusal is a 403, audited;
a playback is audited before its first byte, and refused (503) if it cannot be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from minio import Minio
from pydantic import BaseModel
from urllib3 import BaseHTTPResponse

from consumers.archive.catalog import MAX_WINDOW, StoredChunk, chunks_between
from consumers.retrieval.access import archive_access, touches
from consumers.room.api_cameras import CameraId
from consumers.room.app import ERROR_RESPONSES
from consumers.room.auditing import audited, refuse
from consumers.room.auth import User
from consumers.room.deps import Viewer
from consumers.room.room import Room
from consumers.room.timeline import Span, gaps
from schemas.records import AuditAction

__all__ = ["archive_reader", "archive_router", "authorised_chunk"]

MAX_SPAN = timedelta(hours=24)
WINDOW = r"^\d{8}T\d{6}Z$"
_WINDOW_FORMAT = "%Y%m%dT%H%M%SZ"
READ_BLOCK = 256 * 1024


class ChunkOut(BaseModel):
    window_start: datetime
    window_end: datetime
    part: int
    frames: int
    codec: str
    content_type: str
    bytes: int
    playback: str


class GapOut(BaseModel):
    start: datetime
    end: datetime


class TimelineOut(BaseModel):
    camera_id: str
    owner: str
    start: datetime
    end: datetime
    chunks: list[ChunkOut]
    gaps: list[GapOut]


def _window_id(moment: datetime) -> str:
    return moment.strftime(_WINDOW_FORMAT)


def archive_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/cameras", tags=["archive"], responses=ERROR_RESPONSES)

    async def reader(user: User, camera_id: str, start: datetime, end: datetime) -> Minio:
        return await archive_reader(room, user, camera_id, start, end)

    @router.get("/{camera_id}/archive")
    async def timeline(
        user: Viewer,
        camera_id: CameraId,
        start: Annotated[datetime, Query(description="ISO 8601 with its offset")],
        end: Annotated[datetime, Query(description="ISO 8601 with its offset")],
    ) -> TimelineOut:
        """The chunks stored over [start, end) and the gaps between them."""
        if start.tzinfo is None or end.tzinfo is None:
            raise HTTPException(422, "start and end need a UTC offset (e.g. 2026-12-01T12:00Z)")
        if not timedelta(0) < end - start <= MAX_SPAN:
            raise HTTPException(422, f"end must follow start by at most {MAX_SPAN}")
        if not (start >= EARLIEST and end <= LATEST):
            raise HTTPException(
                422, f"start and end must lie between {EARLIEST:%Y} and {LATEST:%Y}"
            )
        client = await reader(user, camera_id, start, end)
        owner = room.picture(user.operator).owner_of(camera_id) or ""
        chunks = await asyncio.to_thread(chunks_between, client, owner, camera_id, start, end)
        if owner != user.operator:
            # When another operator's camera recorded is itself sensitive: audited too.
            await audited(
                room, user, AuditAction.ARCHIVE_RETRIEVAL, "archive timeline",
                camera_id=camera_id, subject_operator=owner, mode="list",
                start=start.isoformat(), end=end.isoformat(), chunks=str(len(chunks)),
                grants=",".join(_grant_ids(room, user.operator, camera_id, start, end)),
            )  # fmt: skip
        return TimelineOut(
            camera_id=camera_id,
            owner=owner,
            start=start,
            end=end,
            chunks=[_chunk_out(camera_id, c) for c in chunks],
            gaps=[
                GapOut(start=g.start, end=g.end)
                for g in gaps([Span(c.window_start, c.window_end) for c in chunks], start, end)
            ],
        )

    @router.get(
        "/{camera_id}/archive/{window}/{part}",
        response_class=StreamingResponse,
        responses={200: {"content": {"video/x-matroska": {}, "video/mp4": {}}}},
    )
    async def playback(
        user: Viewer,
        camera_id: CameraId,
        window: Annotated[str, Path(pattern=WINDOW, description="window start, UTC")],
        part: Annotated[int, Path(ge=0)],
    ) -> StreamingResponse:
        """One archived chunk's video, audited before it is sent."""
        client, chunk, owner = await authorised_chunk(room, user, camera_id, window, part)
        await audit_chunk(room, user, chunk, owner, mode="playback")
        response = await asyncio.to_thread(client.get_object, chunk.bucket, chunk.video_key)
        return StreamingResponse(
            _body(response),
            media_type=str(chunk.manifest.get("content_type", "application/octet-stream")),
            headers={"X-Vigie-Video-Sha256": str(chunk.manifest.get("video_sha256", ""))},
        )

    return router


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _grant_ids(
    room: Room, requester: str, camera_id: str, start: datetime, end: datetime
) -> tuple[str, ...]:
    """The grants that allow `requester` this camera's archive over [start, end)."""
    owner = room.picture(requester).owner_of(camera_id) or ""
    return archive_access(
        requester=requester, owner=owner, camera_id=camera_id, start=start, end=end,
        grants=list(room.grants.values()),
    ).grant_ids  # fmt: skip


async def audit_chunk(room: Room, user: User, chunk: StoredChunk, owner: str, *, mode: str) -> None:
    """Audit handing out one chunk (played as it is, or replayed), before its first byte."""
    span = chunk.captured_span()
    await audited(
        room, user, AuditAction.ARCHIVE_RETRIEVAL, "playback", camera_id=chunk.camera_id,
        subject_operator=owner, mode=mode, chunk=chunk.video_key,
        video_sha256=str(chunk.manifest.get("video_sha256", "")),
        grants=",".join(_grant_ids(room, user.operator, chunk.camera_id, *span)),
    )  # fmt: skip


async def archive_reader(
    room: Room, user: User, camera_id: str, start: datetime, end: datetime
) -> Minio:
    """The MinIO client to read `camera_id` over [start, end) for `user`; 403 (audited)
    when its operator may not."""
    owner = room.picture(user.operator).owner_of(camera_id)
    if owner is None:
        raise HTTPException(404, f"no camera {camera_id}")
    if owner == user.operator:
        return await asyncio.to_thread(room.own_archive, owner)
    decision = archive_access(
        requester=user.operator,
        owner=owner,
        camera_id=camera_id,
        start=start,
        end=end,
        grants=list(room.grants.values()),
    )
    if not decision.allowed:
        raise await refuse(
            room,
            user,
            403,
            f"archive refused: {decision.reason}",
            camera_id=camera_id,
            subject_operator=owner,
            start=start.isoformat(),
            end=end.isoformat(),
        )
    return await asyncio.to_thread(room.retrieval_archive)


async def authorised_chunk(
    room: Room, user: User, camera_id: str, window: str, part: int
) -> tuple[Minio, StoredChunk, str]:
    """The chunk `window`/`part` of `camera_id`, the client to read it and its owner, if the
    user's operator may see every frame it holds; 403 (audited) or 404 otherwise."""
    try:
        window_start = datetime.strptime(window, _WINDOW_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise HTTPException(422, f"window {window!r} is not a time") from exc
    if not EARLIEST <= window_start < LATEST:
        raise HTTPException(422, f"window {window!r} is out of range")
    # A grant near that moment first, before reading anything of another's archive ...
    picture = room.picture(user.operator)
    owner = picture.owner_of(camera_id)
    if owner is None:
        raise HTTPException(404, f"no camera {camera_id}")
    near = touches(
        requester=user.operator,
        owner=owner,
        camera_id=camera_id,
        start=window_start,
        end=window_start + MAX_WINDOW,
        grants=list(room.grants.values()),
    )
    if not near:
        raise await refuse(
            room, user, 403, f"archive refused: no archive grant of {user.operator} on"
            f" {owner}'s camera {camera_id} near {window_start.isoformat()}",
            camera_id=camera_id, subject_operator=owner,
        )  # fmt: skip
    client = await asyncio.to_thread(
        room.own_archive if owner == user.operator else _retrieval(room), owner
    )
    instant = window_start + timedelta(microseconds=1)
    found = await asyncio.to_thread(chunks_between, client, owner, camera_id, window_start, instant)
    chunk = next((c for c in found if c.window_start == window_start and c.part == part), None)
    if chunk is None:
        raise HTTPException(404, f"no chunk {window}/{part} of camera {camera_id}")
    # ... then to every frame the chunk holds (its window may start before the grant).
    first, last = chunk.captured_span()
    await archive_reader(room, user, camera_id, first, last)
    return client, chunk, owner


def _retrieval(room: Room) -> Callable[[str], Minio]:
    return lambda _owner: room.retrieval_archive()


def _body(response: BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from response.stream(READ_BLOCK)
    finally:
        response.close()
        response.release_conn()


def _chunk_out(camera_id: str, c: StoredChunk) -> ChunkOut:
    return ChunkOut(
        window_start=c.window_start,
        window_end=c.window_end,
        part=c.part,
        frames=int(c.manifest.get("frame_count", 0)),
        codec=str(c.manifest.get("codec", "")),
        content_type=str(c.manifest.get("content_type", "")),
        bytes=int(c.manifest.get("video_bytes", 0)),
        playback=f"/api/cameras/{camera_id}/archive/{_window_id(c.window_start)}/{c.part}",
    )

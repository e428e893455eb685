"""Playback of MJPEG archive chunks in a browser.

    GET /api/cameras/{camera_id}/archive/{window}/{part}/replay?from_ms=N

Browsers play the H.264 chunks (MP4) as they are, but not Motion JPEG in Matroska: this route
sends such a chunk's JPEGs at their pace as a multipart stream (what an `<img>` shows, like a
live view), from `from_ms` into the chunk (to scrub). The same rights as the chunk's own
playback (its operator's camera, or an archive grant covering every frame), audited before
the first byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from minio import Minio

from consumers.room.api_archive import WINDOW, audit_chunk, authorised_chunk
from consumers.room.api_cameras import BOUNDARY, CameraId
from consumers.room.app import ERROR_RESPONSES
from consumers.room.deps import Viewer
from consumers.room.replay import ReplayFrame, UnreadableChunk, jpeg_frames, schedule
from consumers.room.room import Room

__all__ = ["replay_router"]

MAX_CHUNK_BYTES = 64 * 1024 * 1024
"""A chunk is a few seconds of one camera; anything larger is not replayed from memory."""


def replay_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/cameras", tags=["archive"], responses=ERROR_RESPONSES)

    @router.get(
        "/{camera_id}/archive/{window}/{part}/replay",
        response_class=StreamingResponse,
        responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
    )
    async def replay(
        user: Viewer,
        camera_id: CameraId,
        window: Annotated[str, Path(pattern=WINDOW, description="window start, UTC")],
        part: Annotated[int, Path(ge=0)],
        from_ms: Annotated[int, Query(ge=0, le=3_600_000, description="start this far in")] = 0,
    ) -> StreamingResponse:
        """An MJPEG chunk's frames at their pace (multipart JPEGs), audited before it starts."""
        client, chunk, owner = await authorised_chunk(room, user, camera_id, window, part)
        if chunk.manifest.get("codec") != "mjpeg":
            raise HTTPException(
                422, "replay is for MJPEG chunks: play this one as it is (its playback URL)"
            )
        if int(chunk.manifest.get("video_bytes", 0)) > MAX_CHUNK_BYTES:
            raise HTTPException(413, "this chunk is too large to replay")
        await audit_chunk(room, user, chunk, owner, mode="replay")
        data = await asyncio.to_thread(_read, client, chunk.bucket, chunk.video_key)
        try:
            frames = await asyncio.to_thread(jpeg_frames, data)
        except UnreadableChunk as exc:
            raise HTTPException(422, str(exc)) from exc
        return StreamingResponse(
            _paced(schedule(frames, from_ms)),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        )

    return router


def _read(client: Minio, bucket: str, key: str) -> bytes:
    response = client.get_object(bucket, key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


async def _paced(plan: list[tuple[float, ReplayFrame]]) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    for at, frame in plan:
        wait = started + at - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        yield (
            (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n"
                f"X-Offset-Ms: {frame.pts_ms}\r\n\r\n"
            ).encode()
            + frame.jpeg
            + b"\r\n"
        )

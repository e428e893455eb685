"""Cameras in the room: those the user may see now, the newest snapshot and the live stream.

A camera is served to a viewer of its own operator, or of an operator it is shared with now
(a grant in force); anything else is a 403, audited as a refusal. Every snapshot and every live
view (its start and its end) is audited *before* the first byte goes out; if the audit cannot
be written the request is refused (503), nothing is shown unaudited. A live stream ends by
itself when the camera's grant ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from consumers.room.app import ERROR_RESPONSES
from consumers.room.auditing import (
    audited,
    live_grant_ids,
    live_view_ended,
    live_view_started,
    refuse,
)
from consumers.room.auth import User
from consumers.room.deps import (
    Credential,
    CurrentSession,
    Viewer,
    resolve_session,
    room_context,
)
from consumers.room.pacing import Pacer
from consumers.room.roles import Role
from consumers.room.room import Room
from schemas.records import AuditAction

__all__ = ["CAMERA_ID", "CameraId", "cameras_router", "refuse"]

CAMERA_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
CameraId = Annotated[str, Path(pattern=CAMERA_ID, description="a camera id")]

LIVE_POLL_S = 0.04
"""How often a live stream looks for a newer frame (25 times a second)."""
BOUNDARY = "vigieframe"
SESSION_CHECK_S = 5.0
"""How often a live stream checks that its session still lives (logout, disabled user)."""


class CameraOut(BaseModel):
    camera_id: str
    name: str
    operator: str
    latitude: float
    longitude: float
    zone: str
    shared: bool
    status: str
    reason: str | None = None
    """Why it is offline or reconnecting (never a credential), or the last tamper alert."""
    motion: bool
    tamper: str | None = None
    last_frame_at: datetime | None


def cameras_router(room: Room) -> APIRouter:
    router = APIRouter(prefix="/api/cameras", tags=["cameras"], responses=ERROR_RESPONSES)

    async def visible(user: User, camera_id: str, what: str) -> str:
        """The camera's owner if the user may see it now; a 403 (audited) otherwise."""
        picture = room.picture(user.operator)
        owner = picture.owner_of(camera_id)
        if owner is None:
            raise HTTPException(404, f"no camera {camera_id}")
        if not picture.may_see(camera_id):
            raise await refuse(
                room,
                user,
                403,
                f"{what} refused: camera {camera_id} of {owner} is not shared with"
                f" {user.operator} now",
                camera_id=camera_id,
                subject_operator=owner,
            )
        return owner

    @router.get("")
    def list_cameras(user: Viewer) -> list[CameraOut]:
        """The user's operator's cameras, then the others' shared with it now."""
        picture = room.picture(user.operator)
        rows = []
        for camera in picture.cameras():
            live = picture.view.cameras.get(camera.camera_id)
            rows.append(
                CameraOut(
                    camera_id=camera.camera_id,
                    name=camera.name,
                    operator=camera.operator,
                    latitude=camera.latitude,
                    longitude=camera.longitude,
                    zone=camera.zone,
                    shared=camera.operator != user.operator,
                    status=live.status if live else "unknown",
                    reason=live.reason if live else None,
                    motion=live.motion if live else False,
                    tamper=live.tamper if live else None,
                    last_frame_at=live.capture_time if live else None,
                )
            )
        return rows

    @router.get(
        "/{camera_id}/snapshot",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, 404: {}, 503: {}},
    )
    async def snapshot(user: Viewer, camera_id: CameraId) -> Response:
        """The newest frame (JPEG), audited before it is sent."""
        owner = await visible(user, camera_id, "snapshot")
        live = room.picture(user.operator).frame(camera_id)
        if live is None:
            raise HTTPException(404, f"no frame of camera {camera_id} yet")
        await audited(
            room,
            user,
            AuditAction.LIVE_VIEW,
            "snapshot",
            camera_id=camera_id,
            subject_operator=owner,
            view="snapshot",
            frame_time=live.capture_time.isoformat() if live.capture_time else "",
            grants=live_grant_ids(room, user, camera_id),
        )
        if room.picture(user.operator).frame(camera_id) is None:  # revoked while auditing
            raise HTTPException(403, f"camera {camera_id} is no longer shared")
        return Response(live.jpeg, media_type="image/jpeg")

    @router.get(
        "/{camera_id}/live",
        response_class=StreamingResponse,
        responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
    )
    async def live(
        request: Request,
        signed_in: CurrentSession,
        user: Viewer,
        camera_id: CameraId,
        max_fps: Annotated[
            float | None, Query(gt=0, le=30, description="send at most this many frames a second")
        ] = None,
    ) -> StreamingResponse:
        """The camera's frames as they arrive (MJPEG), until the client leaves or the camera
        is no longer shared with the user's operator. Start and end are audited. Each part
        carries `X-Capture-Time` (the frame's capture time, ISO 8601 UTC)."""
        owner = await visible(user, camera_id, "live view")
        await live_view_started(room, user, camera_id, owner)
        context = room_context(request)
        credential_ = Credential(signed_in.token, by_cookie=False)

        def still_viewer() -> bool:
            """The session still lives and its user may still view (checked as it streams)."""
            try:
                return resolve_session(context, credential_).user.has(Role.VIEWER)
            except HTTPException:
                return False

        return StreamingResponse(
            _frames(room, user, camera_id, owner, Pacer.at_most(max_fps), still_viewer),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        )

    return router


async def _frames(
    room: Room,
    user: User,
    camera_id: str,
    owner: str,
    pacer: Pacer,
    still_viewer: Callable[[], bool],
) -> AsyncIterator[bytes]:
    picture = room.picture(user.operator)
    loop = asyncio.get_running_loop()
    sent = 0
    last: tuple[int, datetime | None] | None = None
    why = "client left"
    checked = loop.time()
    try:
        while True:
            if not picture.may_see(camera_id):
                why = "camera no longer shared"
                return
            if loop.time() - checked >= SESSION_CHECK_S:
                checked = loop.time()
                if not still_viewer():
                    why = "session ended or viewer role withdrawn"
                    return
            current = picture.frame(camera_id)
            fresh = current is not None and (current.sequence, current.capture_time) != last
            if current is not None and fresh and pacer.due(loop.time()):
                last = (current.sequence, current.capture_time)
                pacer.sent(loop.time())
                sent += 1
                captured = current.capture_time.isoformat() if current.capture_time else ""
                yield (
                    (
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(current.jpeg)}\r\n"
                        f"X-Capture-Time: {captured}\r\n\r\n"
                    ).encode()
                    + current.jpeg
                    + b"\r\n"
                )
            await asyncio.sleep(LIVE_POLL_S)
    finally:
        live_view_ended(room, user, camera_id, owner, why, sent)

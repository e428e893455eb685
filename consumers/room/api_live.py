"""Live tiles over one WebSocket per page: `/api/live`.

A browser opens at most six HTTP/1.1 connections to a host: a page of twelve MJPEG streams
(`GET /api/cameras/{id}/live`) would hold them all and starve its own API calls. The page
watches its cameras over this one socket instead, with the same rights and audit as the
stream: a viewer of the camera's operator or of an operator it is shared with now; each
camera's live view audited before its first frame (start) and when it ends; a camera whose
grant ends is ended by the server; the session is checked again every few seconds.

Client -> server, text JSON:
    {"watch": "<camera id>", "max_fps": 5}   start watching (or change the cap; no cap: all)
    {"unwatch": "<camera id>"}               stop
Server -> client:
    binary: a 2-byte big-endian length N, N bytes of JSON {"camera_id", "capture_time",
            "sequence"}, then the JPEG
    text JSON: {"camera_id", "event": "refused", "error"} (not shown: why),
               {"camera_id", "event": "ended", "reason"},  {"event": "error", "error"}
Close codes: 4401 not signed in (or the session ended), 4403 not a viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consumers.room.api_cameras import CAMERA_ID, LIVE_POLL_S
from consumers.room.auditing import live_view_ended, live_view_started, refuse
from consumers.room.auth import Role, User
from consumers.room.deps import SESSION_COOKIE, RoomContext, credential, resolve_session
from consumers.room.pacing import Pacer
from consumers.room.room import Room

__all__ = ["SESSION_CHECK_S", "live_router"]

logger = logging.getLogger(__name__)

SESSION_CHECK_S = 5.0
MAX_WATCHED = 64
NOT_SIGNED_IN, NOT_A_VIEWER = 4401, 4403


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    watch: Annotated[str | None, Field(pattern=CAMERA_ID)] = None
    unwatch: Annotated[str | None, Field(pattern=CAMERA_ID)] = None
    max_fps: Annotated[float | None, Field(gt=0, le=30)] = None


@dataclass
class Watch:
    owner: str
    pacer: Pacer
    last: tuple[int, datetime | None] | None = None
    sent: int = 0


class LiveSocket:
    """One page's socket: what it watches, paced per camera, audited per camera."""

    def __init__(self, room: Room, user: User, socket: WebSocket) -> None:
        self.room = room
        self.user = user
        self.socket = socket
        self.picture = room.picture(user.operator)
        self.watches: dict[str, Watch] = {}
        self._send_lock = asyncio.Lock()

    async def send_json(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(json.dumps(message))

    async def receive(self) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(int(message.get("code") or 1000))
            text = message.get("text")
            if text is None:
                await self.send_json({"event": "error", "error": "text JSON messages only"})
                continue
            try:
                command = Command.model_validate_json(text)
            except ValidationError as exc:
                fields = "; ".join(".".join(map(str, e["loc"])) or "message" for e in exc.errors())
                await self.send_json({"event": "error", "error": f"invalid message: {fields}"})
                continue
            if command.watch is not None:
                await self.watch(command.watch, command.max_fps)
            if command.unwatch is not None:
                self.end(command.unwatch, "unwatched")

    async def watch(self, camera_id: str, max_fps: float | None) -> None:
        if camera_id in self.watches:
            self.watches[camera_id].pacer.interval_s = Pacer.at_most(max_fps).interval_s
            return
        if len(self.watches) >= MAX_WATCHED:
            await self.refused(camera_id, f"at most {MAX_WATCHED} cameras per page")
            return
        owner = self.picture.owner_of(camera_id)
        if owner is None:
            await self.refused(camera_id, f"no camera {camera_id}")
            return
        try:
            if not self.picture.may_see(camera_id):
                raise await refuse(
                    self.room, self.user, 403,
                    f"live view refused: camera {camera_id} of {owner} is not shared with"
                    f" {self.user.operator} now",
                    camera_id=camera_id, subject_operator=owner,
                )  # fmt: skip
            await live_view_started(self.room, self.user, camera_id, owner)
        except HTTPException as exc:
            await self.refused(camera_id, str(exc.detail))
            return
        self.watches[camera_id] = Watch(owner, Pacer.at_most(max_fps))

    async def refused(self, camera_id: str, why: str) -> None:
        await self.send_json({"camera_id": camera_id, "event": "refused", "error": why})

    def end(self, camera_id: str, why: str) -> None:
        """Stop a camera's live view and audit its end (in a task: the socket may be gone)."""
        watch = self.watches.pop(camera_id, None)
        if watch is None:
            return
        live_view_ended(self.room, self.user, camera_id, watch.owner, why, watch.sent)

    async def send_due(self, now: float) -> None:
        for camera_id, watch in list(self.watches.items()):
            if not self.picture.may_see(camera_id):
                self.end(camera_id, "camera no longer shared")
                await self.send_json(
                    {"camera_id": camera_id, "event": "ended", "reason": "no longer shared"}
                )
                continue
            current = self.picture.frame(camera_id)
            if current is None or (current.sequence, current.capture_time) == watch.last:
                continue
            if not watch.pacer.due(now):
                continue
            watch.last = (current.sequence, current.capture_time)
            watch.pacer.sent(now)
            watch.sent += 1
            header = json.dumps(
                {
                    "camera_id": camera_id,
                    "capture_time": current.capture_time.isoformat()
                    if current.capture_time
                    else None,
                    "sequence": current.sequence,
                }
            ).encode()
            async with self._send_lock:
                await self.socket.send_bytes(len(header).to_bytes(2, "big") + header + current.jpeg)

    def end_all(self, why: str) -> None:
        for camera_id in list(self.watches):
            self.end(camera_id, why)


TRY_AGAIN_LATER = 1013


def _signed_in(context: RoomContext, socket: WebSocket) -> User | None:
    found = credential(socket.headers.get("authorization"), socket.cookies.get(SESSION_COOKIE))
    try:
        return resolve_session(context, found).user
    except HTTPException:
        return None


def live_router(room: Room) -> APIRouter:
    router = APIRouter(tags=["cameras"])

    @router.websocket("/api/live")
    async def live(socket: WebSocket) -> None:
        context: RoomContext = socket.app.state.room
        user = _signed_in(context, socket)
        if user is None:
            await socket.close(code=NOT_SIGNED_IN)
            return
        if not user.has(Role.VIEWER):
            await socket.close(code=NOT_A_VIEWER)
            return
        if not room.ready:  # still reading Kafka's state: try again later (1013)
            await socket.close(code=TRY_AGAIN_LATER)
            return
        await socket.accept()
        page = LiveSocket(room, user, socket)
        receiver = asyncio.create_task(page.receive())
        loop = asyncio.get_running_loop()
        checked = loop.time()
        why = "client left"
        try:
            while not receiver.done():
                now = loop.time()
                if now - checked > SESSION_CHECK_S:
                    checked = now
                    if _signed_in(context, socket) is None:
                        why = "session ended"
                        await socket.close(code=NOT_SIGNED_IN)
                        break
                await page.send_due(now)
                await asyncio.sleep(LIVE_POLL_S)
        except WebSocketDisconnect:
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver
            page.end_all(why)

    return router

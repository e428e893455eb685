"""The cameras of one operator's picture in the room, as pure state: the camera registry, the
newest frame of each camera it received (its own, and others' routed to it by the policy) and
each camera's status (online, offline with the reason, motion, tamper).

Fed only from the topics the operator may read; what is *served* from it is decided by
``consumers.room.picture`` (a shared camera only while a grant is in force).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.records import Camera, CameraEvent, CameraEventKind
from schemas.topics import operator_of

__all__ = ["CamerasView", "LiveCamera"]


@dataclass
class LiveCamera:
    camera_id: str
    owner: str
    shared: bool  # another operator's camera, visible through a grant
    jpeg: bytes = b""
    capture_time: datetime | None = None
    sequence: int = -1
    frames: int = 0
    status: str = "unknown"
    reason: str | None = None
    motion: bool = False
    tamper: str | None = None
    """The last tamper alert (covered, defocus, scene change) since the camera came online."""


@dataclass
class CamerasView:
    operator: str
    cameras: dict[str, LiveCamera] = field(default_factory=dict)
    registry: dict[str, Camera] = field(default_factory=dict)

    def on_frame(
        self, topic: str, camera_id: str, owner: str, sequence: int, at: datetime, jpeg: bytes
    ) -> None:
        shared = operator_of(topic) == self.operator and topic.startswith("shared.")
        live = self.cameras.get(camera_id)
        if live is None:
            live = self.cameras[camera_id] = LiveCamera(camera_id, owner, shared)
        if sequence <= live.sequence and live.capture_time is not None and at <= live.capture_time:
            return  # an older frame arriving late: keep showing the newest
        live.jpeg, live.capture_time, live.sequence = jpeg, at, sequence
        live.frames += 1
        if live.status in ("unknown", "OFFLINE", "RECONNECTING"):
            live.status = "ONLINE"

    def on_camera_event(self, event: CameraEvent) -> None:
        live = self.cameras.get(event.camera_id)
        if live is None:
            live = self.cameras[event.camera_id] = LiveCamera(
                event.camera_id, event.operator, False
            )
        if event.kind in (
            CameraEventKind.ONLINE,
            CameraEventKind.OFFLINE,
            CameraEventKind.RECONNECTING,
        ):
            live.status, live.reason = str(event.kind), event.reason
            if event.kind is CameraEventKind.ONLINE:
                live.tamper = None
        elif event.kind is CameraEventKind.MOTION_START:
            live.motion = True
        elif event.kind is CameraEventKind.MOTION_END:
            live.motion = False
        elif event.kind is CameraEventKind.TAMPER:
            live.tamper = str(event.tamper).lower() if event.tamper else "tamper"
            live.reason = event.reason or live.tamper

    def on_registry(self, camera: Camera) -> None:
        self.registry[camera.camera_id] = camera

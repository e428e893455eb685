"""What one operator's dashboard shows, as pure state: the newest frame of every camera it may
see (its own, and other operators' cameras shared with it now), camera status, and incidents.

The dashboard reads only `frames.<operator>` and `shared.<operator>`: what reaches it was
already decided by the access policy upstream, so this state never decides access itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from schemas.records import Camera, CameraEvent, CameraEventKind, IncidentEvent
from schemas.topics import operator_of

RECENT_INCIDENT_EVENTS = 50
# A camera with no frame for this long is shown as stale (offline, or its grant ended).
STALE_AFTER_S = 10.0


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
class DashboardView:
    operator: str
    cameras: dict[str, LiveCamera] = field(default_factory=dict)
    registry: dict[str, Camera] = field(default_factory=dict)
    incidents: deque[IncidentEvent] = field(
        default_factory=lambda: deque(maxlen=RECENT_INCIDENT_EVENTS)
    )

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

    def on_incident(self, event: IncidentEvent) -> None:
        """An event of `incidents.<operator>`: the policy sends there only the incidents that
        concern this operator (``streams.incidents.audience``), and the broker lets no one
        else read them."""
        self.incidents.appendleft(event)

    def summary(self, now: datetime) -> list[dict[str, object]]:
        """The cameras as the page lists them: own first, then shared, by name."""
        rows = []
        for live in self.cameras.values():
            reg = self.registry.get(live.camera_id)
            age = (now - live.capture_time).total_seconds() if live.capture_time else None
            if live.shared and (age is None or age > STALE_AFTER_S):
                continue  # no longer shared with this operator (grant ended): not shown

            rows.append(
                {
                    "camera_id": live.camera_id,
                    "name": reg.name if reg else live.camera_id,
                    "owner": live.owner,
                    "shared": live.shared,
                    "status": live.status,
                    "reason": live.reason,
                    "motion": live.motion,
                    "frames": live.frames,
                    "sequence": live.sequence,
                    "capture_time": live.capture_time.isoformat() if live.capture_time else None,
                    "stale": age is None or age > STALE_AFTER_S,
                    "position": [reg.latitude, reg.longitude] if reg else None,
                }
            )
        return sorted(rows, key=lambda r: (bool(r["shared"]), str(r["name"])))

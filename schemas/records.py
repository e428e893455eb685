"""Python side of the Avro contract: one frozen dataclass per record in ``schemas/avro``.

Field names and order are identical to the ``.avsc`` files (the codec checks this when it is
built). Times are timezone-aware UTC ``datetime`` values; Avro enums are ``StrEnum`` classes
whose values are the Avro symbols. Arrays are tuples so records stay immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class FrameEncoding(StrEnum):
    """Image encodings a frame may carry (Avro ``be.vigie.FrameEncoding``)."""

    JPEG = "JPEG"


class CameraEventKind(StrEnum):
    """What happened to a camera (Avro ``be.vigie.CameraEventKind``)."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    RECONNECTING = "RECONNECTING"
    HEALTH = "HEALTH"
    MOTION_START = "MOTION_START"
    MOTION_END = "MOTION_END"
    TAMPER = "TAMPER"


class TamperKind(StrEnum):
    """How a camera's view was tampered with (Avro ``be.vigie.TamperKind``)."""

    COVERED = "COVERED"
    DEFOCUS = "DEFOCUS"
    SCENE_CHANGE = "SCENE_CHANGE"


class SourceKind(StrEnum):
    """Kinds of camera source an adapter can read (Avro ``be.vigie.SourceKind``)."""

    RTSP = "RTSP"
    MJPEG = "MJPEG"
    SNAPSHOT = "SNAPSHOT"
    FILE = "FILE"
    SYNTHETIC = "SYNTHETIC"


class IncidentEventKind(StrEnum):
    """Steps in the life of an incident (Avro ``be.vigie.IncidentEventKind``)."""

    OPENED = "OPENED"
    UPDATED = "UPDATED"
    CAMERA_GRANTED = "CAMERA_GRANTED"
    CAMERA_REVOKED = "CAMERA_REVOKED"
    CLOSED = "CLOSED"
    REFUSED = "REFUSED"


class IncidentKind(StrEnum):
    """Kinds of incident a sharing agreement may allow (Avro ``be.vigie.IncidentKind``)."""

    PURSUIT = "PURSUIT"
    ACCIDENT = "ACCIDENT"
    DEMONSTRATION = "DEMONSTRATION"
    OTHER = "OTHER"


PUBLIC_INCIDENT_KINDS = frozenset({IncidentKind.ACCIDENT, IncidentKind.DEMONSTRATION})
"""Incidents every operator follows live (an accident, a demonstration); the others reach only
the operators they concern."""


class IncidentAction(StrEnum):
    """What an incident command asks for (Avro ``be.vigie.IncidentAction``)."""

    OPEN = "OPEN"
    UPDATE = "UPDATE"
    CLOSE = "CLOSE"


class GrantStatus(StrEnum):
    """Whether a grant is in force (Avro ``be.vigie.GrantStatus``)."""

    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class AuditAction(StrEnum):
    """Audited decisions and accesses (Avro ``be.vigie.AuditAction``)."""

    GRANT = "GRANT"
    REVOKE = "REVOKE"
    REFUSAL = "REFUSAL"
    FORWARD_START = "FORWARD_START"
    FORWARD_STOP = "FORWARD_STOP"
    LIVE_VIEW = "LIVE_VIEW"
    ARCHIVE_RETRIEVAL = "ARCHIVE_RETRIEVAL"
    EXPORT = "EXPORT"
    LEGAL_HOLD = "LEGAL_HOLD"
    LEGAL_HOLD_RELEASE = "LEGAL_HOLD_RELEASE"
    INCIDENT_OPENED = "INCIDENT_OPENED"
    INCIDENT_UPDATED = "INCIDENT_UPDATED"
    INCIDENT_CLOSED = "INCIDENT_CLOSED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One image captured by a camera (``be.vigie.Frame``, v2)."""

    camera_id: str
    operator: str
    capture_time: datetime
    sequence: int
    width: int
    height: int
    encoding: FrameEncoding
    image: bytes
    privacy_masked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraHealth:
    """Throughput of a camera adapter over the last reporting interval."""

    achieved_fps: float
    dropped_frames: int
    bytes_per_second: float
    frames_published: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraEvent:
    """Status change, health report, motion or tampering of a camera (``be.vigie.CameraEvent``)."""

    camera_id: str
    operator: str
    time: datetime
    kind: CameraEventKind
    reason: str | None = None
    health: CameraHealth | None = None
    tamper: TamperKind | None = None
    motion_score: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera:
    """Registry entry of a camera (``be.vigie.Camera``); never carries the source URL."""

    camera_id: str
    operator: str
    name: str
    latitude: float
    longitude: float
    zone: str
    tags: tuple[str, ...]
    profile: str
    source_kind: SourceKind
    active: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentEvent:
    """A step in the life of an incident (``be.vigie.IncidentEvent``)."""

    incident_id: str
    time: datetime
    kind: IncidentEventKind
    operator: str
    incident_kind: IncidentKind | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    legal_basis: str | None = None
    requested_by: str | None = None
    camera_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """Permission for one operator to see another operator's camera (``be.vigie.Grant``)."""

    grant_id: str
    incident_id: str
    camera_id: str
    owner_operator: str
    grantee_operator: str
    live: bool
    archive: bool
    valid_from: datetime
    valid_until: datetime
    legal_basis: str
    agreement_id: str
    granted_by: str
    status: GrantStatus
    revoked_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One audited decision or access, hash-chained (``be.vigie.AuditRecord``)."""

    audit_id: str
    time: datetime
    actor: str
    operator: str
    action: AuditAction
    subject_operator: str | None = None
    camera_id: str | None = None
    incident_id: str | None = None
    legal_basis: str | None = None
    reason: str
    details: Mapping[str, str]
    previous_hash: bytes
    record_hash: bytes
    signature: bytes | None = None
    """Ed25519 signature of the sealer (``schemas.audit_chain``); None before signing existed."""
    signing_key_id: str | None = None
    """The key that signed: first 8 bytes of SHA-256 of the raw public key, hex."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveChunk:
    """Manifest entry of one archived chunk of a camera's frames (``be.vigie.ArchiveChunk``)."""

    operator: str
    camera_id: str
    bucket: str
    video_key: str
    manifest_key: str
    window_start: datetime
    window_end: datetime
    part: int
    first_sequence: int
    last_sequence: int
    frame_count: int
    container: str
    codec: str
    video_sha256: str
    video_bytes: int
    source_topic: str
    source_partition: int
    first_offset: int
    last_offset: int
    stored_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A message a stage could not process, kept with the reason (``be.vigie.DeadLetter``)."""

    time: datetime
    stage: str
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    key: bytes | None = None
    value: bytes
    headers: Mapping[str, bytes]
    error_kind: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentCommand:
    """Open, update or close an incident (``be.vigie.IncidentCommand``)."""

    command_id: str
    incident_id: str
    action: IncidentAction
    operator: str
    incident_kind: IncidentKind | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: float | None = None
    legal_basis: str | None = None
    requested_by: str
    requested_at: datetime

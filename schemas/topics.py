"""The topic catalogue: every Kafka topic of Vigie, its key, value record, partitions and configs.

Topic names are spelled here and nowhere else. Provisioning (`vigie topics provision`) creates
what the catalogue lists and reports drift between the catalogue and the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Frames are JPEGs; brokers, topics, producers and consumers must all accept the same maximum
# (see infra/local/kafka.py, MAX_MESSAGE_BYTES, which the broker is configured with).
MAX_FRAME_BYTES = 8 * 1024 * 1024

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS


class TopicKind(StrEnum):
    FRAMES = "frames"
    CAMERA_EVENTS = "camera-events"
    SHARED = "shared"
    INCIDENTS = "incidents"
    GRANTS = "grants"
    CAMERAS = "cameras"
    AUDIT = "audit"
    ARCHIVE_CHUNKS = "archive-chunks"
    DEAD_LETTER = "dead-letter"
    INCIDENT_COMMANDS = "incident-commands"
    AUDIT_DRAFTS = "audit-drafts"
    INCIDENT_STATE = "incident-state"


PER_OPERATOR = (TopicKind.FRAMES, TopicKind.CAMERA_EVENTS, TopicKind.SHARED, TopicKind.INCIDENTS)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    kind: TopicKind
    key: str  # what the record key is, for operators reading the catalogue
    value_record: str  # Avro full name of the value
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)
    operator: str | None = None


def frames_topic(operator: str) -> str:
    return f"{TopicKind.FRAMES}.{operator}"


def camera_events_topic(operator: str) -> str:
    return f"{TopicKind.CAMERA_EVENTS}.{operator}"


def shared_topic(operator: str) -> str:
    return f"{TopicKind.SHARED}.{operator}"


def incidents_topic(operator: str) -> str:
    """The incident events that concern `operator` (``streams.incidents.audience``)."""
    return f"{TopicKind.INCIDENTS}.{operator}"


INCIDENTS = str(TopicKind.INCIDENTS)
GRANTS = str(TopicKind.GRANTS)
CAMERAS = str(TopicKind.CAMERAS)
AUDIT = str(TopicKind.AUDIT)
ARCHIVE_CHUNKS = str(TopicKind.ARCHIVE_CHUNKS)
DEAD_LETTER = str(TopicKind.DEAD_LETTER)
INCIDENT_COMMANDS = str(TopicKind.INCIDENT_COMMANDS)
AUDIT_DRAFTS = str(TopicKind.AUDIT_DRAFTS)
INCIDENT_STATE = str(TopicKind.INCIDENT_STATE)

# A pattern any consumer of every operator's frames subscribes with (router, archiver).
FRAMES_PATTERN = r"^frames\..+$"


def operator_of(topic: str) -> str | None:
    """The operator a per-operator topic belongs to, or None for a shared topic."""
    kind, _, operator = topic.partition(".")
    if operator and kind in {str(k) for k in PER_OPERATOR}:
        return operator
    return None


@dataclass(frozen=True)
class Sizing:
    """Partition counts for one installation. A single node needs few; a cluster sizes from
    cameras x fps (see infra/deploy/capacity)."""

    frame_partitions: int = 6
    event_partitions: int = 3
    shared_partitions: int = 3
    control_partitions: int = 3
    audit_partitions: int = 1  # one hash chain per partition: few partitions keep it readable
    frames_retention_ms: int = _DAY_MS  # Kafka buffers frames; the archive keeps them
    shared_retention_ms: int = _HOUR_MS  # live views only


def _frames_configs(retention_ms: int) -> dict[str, str]:
    return {
        "retention.ms": str(retention_ms),
        "max.message.bytes": str(MAX_FRAME_BYTES),
        # JPEG does not compress: let producers decide, never recompress on the broker.
        "compression.type": "producer",
        "message.timestamp.type": "CreateTime",
        "segment.bytes": str(256 * 1024 * 1024),
    }


def catalogue(
    operators: Iterable[str],
    sizing: Sizing | None = None,
    frame_partitions: Mapping[str, int] | None = None,
) -> list[TopicSpec]:
    """Every topic an installation with these operators needs, with its configs.

    `frame_partitions` gives an operator's frames topic one partition per camera
    (``schemas.placement``); an operator missing from it gets ``sizing.frame_partitions``."""
    s = sizing or Sizing()
    specs: list[TopicSpec] = []
    for op in sorted(set(operators)):
        specs += [
            TopicSpec(
                frames_topic(op),
                TopicKind.FRAMES,
                "camera id",
                "be.vigie.Frame",
                (frame_partitions or {}).get(op, s.frame_partitions),
                _frames_configs(s.frames_retention_ms),
                op,
            ),
            TopicSpec(
                camera_events_topic(op),
                TopicKind.CAMERA_EVENTS,
                "camera id",
                "be.vigie.CameraEvent",
                s.event_partitions,
                {"retention.ms": str(30 * _DAY_MS)},
                op,
            ),
            TopicSpec(
                shared_topic(op),
                TopicKind.SHARED,
                "camera id",
                "be.vigie.Frame",
                s.shared_partitions,
                _frames_configs(s.shared_retention_ms),
                op,
            ),
            TopicSpec(
                incidents_topic(op),
                TopicKind.INCIDENTS,
                "incident id",
                "be.vigie.IncidentEvent",
                s.control_partitions,
                {"retention.ms": str(90 * _DAY_MS)},
                op,
            ),
        ]
    compacted = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
    specs += [
        TopicSpec(
            INCIDENTS,
            TopicKind.INCIDENTS,
            "incident id",
            "be.vigie.IncidentEvent",
            s.control_partitions,
            {"retention.ms": str(90 * _DAY_MS)},
        ),
        TopicSpec(
            GRANTS, TopicKind.GRANTS, "grant id", "be.vigie.Grant", s.control_partitions, compacted
        ),
        TopicSpec(
            CAMERAS,
            TopicKind.CAMERAS,
            "camera id",
            "be.vigie.Camera",
            s.control_partitions,
            compacted,
        ),
        # Audit is kept forever in Kafka as well as in the object-locked archive.
        TopicSpec(
            AUDIT,
            TopicKind.AUDIT,
            "operator",
            "be.vigie.AuditRecord",
            s.audit_partitions,
            {"retention.ms": "-1"},
        ),
        TopicSpec(
            ARCHIVE_CHUNKS,
            TopicKind.ARCHIVE_CHUNKS,
            "camera id",
            "be.vigie.ArchiveChunk",
            s.control_partitions,
            {"retention.ms": str(30 * _DAY_MS)},
        ),
        TopicSpec(
            DEAD_LETTER,
            TopicKind.DEAD_LETTER,
            "source topic",
            "be.vigie.DeadLetter",
            1,
            {
                "retention.ms": str(30 * _DAY_MS),
                "max.message.bytes": str(MAX_FRAME_BYTES + 1024 * 1024),
            },
        ),
        TopicSpec(
            INCIDENT_COMMANDS,
            TopicKind.INCIDENT_COMMANDS,
            "incident id",
            "be.vigie.IncidentCommand",
            s.control_partitions,
            # The broker stamps each command: its time is the server's, never the client's.
            {"retention.ms": str(90 * _DAY_MS), "message.timestamp.type": "LogAppendTime"},
        ),
        # The policy workers' incident state, partition p beside command partition p (same
        # count): JSON checked against the state schema (streams/state.py), never pickled.
        TopicSpec(
            INCIDENT_STATE,
            TopicKind.INCIDENT_STATE,
            "incident id",
            "JSON incident state, format 1 (streams.state)",
            s.control_partitions,
            compacted,
        ),
        # Audit records before the policy workers' sealer chains them onto `audit`: partition
        # p of the drafts feeds partition p of the audit topic (one writer per chain).
        TopicSpec(
            AUDIT_DRAFTS,
            TopicKind.AUDIT_DRAFTS,
            "operator",
            "be.vigie.AuditRecord",
            s.audit_partitions,
            {"retention.ms": str(30 * _DAY_MS)},
        ),
    ]
    return specs


@dataclass(frozen=True)
class TopicDrift:
    topic: str
    what: str  # "partitions" or a config name
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.what} is {self.actual}, catalogue says {self.expected}"


@dataclass(frozen=True)
class ExistingTopic:
    name: str
    partitions: int
    configs: Mapping[str, str]


@dataclass(frozen=True)
class ProvisionPlan:
    create: list[TopicSpec]
    drift: list[TopicDrift]
    unchanged: list[str]
    grow: list[TopicSpec] = field(default_factory=list)
    """Frames topics short of partitions for their cameras: partitions are added (safe, as
    every frame names its partition; a keyed topic is never grown)."""


def plan(specs: Iterable[TopicSpec], existing: Mapping[str, ExistingTopic]) -> ProvisionPlan:
    """Which topics to create and how existing ones differ from the catalogue (pure)."""
    create: list[TopicSpec] = []
    drift: list[TopicDrift] = []
    unchanged: list[str] = []
    grow: list[TopicSpec] = []
    for spec in specs:
        have = existing.get(spec.name)
        if have is None:
            create.append(spec)
            continue
        if spec.kind is TopicKind.FRAMES and have.partitions < spec.partitions:
            grow.append(spec)
        found = _drift(spec, have)
        drift += found
        if not found and spec not in grow:
            unchanged.append(spec.name)
    return ProvisionPlan(create, drift, unchanged, grow)


def _drift(spec: TopicSpec, have: ExistingTopic) -> list[TopicDrift]:
    found: list[TopicDrift] = []
    # A frames topic places each camera on its own partition: more partitions than cameras
    # (cameras removed) is fine, fewer is grown by provisioning.
    if spec.kind is not TopicKind.FRAMES and have.partitions != spec.partitions:
        found.append(
            TopicDrift(spec.name, "partitions", str(spec.partitions), str(have.partitions))
        )
    for key, expected in spec.configs.items():
        actual = have.configs.get(key, "<default>")
        if actual != expected:
            found.append(TopicDrift(spec.name, key, expected, actual))
    return found

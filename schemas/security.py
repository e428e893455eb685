"""Who may do what on Kafka: the principals and the access control list, derived from the
operators of a configuration (pure). `vigie security apply` makes the cluster match it.

Principals (SCRAM users):

- ``vigie-admin``: the only super user; provisioning and operations tooling, never a worker.
- ``vigie-policy``: the policy workers. Reads every operator's frames and the commands; the only
  one that writes ``shared.*``, ``grants``, ``incidents``, ``incidents.*``, ``incident-state``
  and ``audit``.
- ``vigie-archiver``: the archivers. Reads every operator's frames; writes archive chunks and
  dead letters.
- ``vigie-auditor``: the audit archiver (`vigie audit archive --follow`). Reads ``audit`` and
  nothing else (no group: it resumes from what the object-locked bucket holds).
- ``vigie-room``: the incident room service, which authenticates people. The only writer of
  ``incident-commands`` (with the user and operator it authenticated) besides the admin, a
  writer of ``audit-drafts`` (every view, playback and refusal, before the act); reads
  ``grants`` for the archive grant check. It reads each operator's topics as that operator.
- ``vigie-cam-<operator>``: an operator's camera adapters, out in the field: writes its own
  ``frames.`` and ``camera-events.`` topics and reads nothing, so a stolen adapter credential
  shows no other operator's shared frames and no incident.
- ``vigie-op-<operator>``: what the room reads for the operator's users. Writes nothing; reads
  its own
  topics, ``shared.<operator>``, ``incidents.<operator>`` (the incident events that concern it)
  and the camera registry. Never another operator's frames, shared frames or incidents, never
  the audit chain. The full ``incidents`` stream is for the admin's tooling only.

Consumer groups follow the principal's name: a principal may use the groups whose id starts
with it (``vigie-policy-...``; an operator's: ``vigie-op-stib.<anything>``, the dot keeping one
operator out of the groups of another whose id starts the same), so nobody can join another's
group and commit its offsets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from schemas.topics import (
    ARCHIVE_CHUNKS,
    AUDIT,
    AUDIT_DRAFTS,
    CAMERAS,
    DEAD_LETTER,
    GRANTS,
    INCIDENT_COMMANDS,
    INCIDENT_STATE,
    INCIDENTS,
    TopicKind,
    camera_events_topic,
    frames_topic,
    incidents_topic,
    shared_topic,
)

__all__ = [
    "ADMIN",
    "ARCHIVER",
    "AUDITOR",
    "MINIO_ARCHIVER",
    "MINIO_AUDITOR",
    "MINIO_EVIDENCE",
    "MINIO_RETRIEVAL",
    "POLICY",
    "ROOM",
    "Acl",
    "Operation",
    "Pattern",
    "Resource",
    "camera_principal",
    "desired_acls",
    "operator_groups",
    "operator_principal",
    "principals",
]

ADMIN = "vigie-admin"
POLICY = "vigie-policy"
ARCHIVER = "vigie-archiver"
ROOM = "vigie-room"
AUDITOR = "vigie-auditor"

# MinIO users of the services (infra.provision.SERVICE_POLICIES says what each may do).
MINIO_ARCHIVER = ARCHIVER
MINIO_RETRIEVAL = "vigie-retrieval"
"""Reads another operator's archive for a requester, after the grant check, never as root."""
MINIO_EVIDENCE = "vigie-evidence"
"""Places and lifts evidence (legal) holds."""
MINIO_AUDITOR = AUDITOR
"""Appends to the object-locked audit bucket (segments, anchors, keys)."""


def operator_principal(operator: str) -> str:
    return f"vigie-op-{operator}"


def camera_principal(operator: str) -> str:
    """The principal of `operator`'s camera adapters (write-only)."""
    return f"vigie-cam-{operator}"


class Resource(StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"


class Pattern(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    DESCRIBE = "DESCRIBE"
    DESCRIBE_CONFIGS = "DESCRIBE_CONFIGS"


@dataclass(frozen=True, order=True, slots=True)
class Acl:
    """ALLOW `operation` on `resource` `name` (a prefix when PREFIXED) to `principal`."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def __str__(self) -> str:
        where = f"{self.name}*" if self.pattern is Pattern.PREFIXED else self.name
        return f"User:{self.principal} {self.operation} {self.resource.lower()} {where}"


def _topics(principal: str, operation: Operation, *names: str) -> list[Acl]:
    return [Acl(principal, Resource.TOPIC, n, Pattern.LITERAL, operation) for n in names]


def _prefixed(principal: str, operation: Operation, prefix: str) -> Acl:
    return Acl(principal, Resource.TOPIC, prefix, Pattern.PREFIXED, operation)


def _groups(principal: str, prefix: str | None = None) -> Acl:
    return Acl(principal, Resource.GROUP, prefix or principal, Pattern.PREFIXED, Operation.READ)


def operator_groups(operator: str) -> str:
    """The prefix of an operator's consumer group ids: ``vigie-op-stib.`` (the dot, which no
    operator id holds, keeps ``stib`` out of ``stib-north``'s groups)."""
    return f"{operator_principal(operator)}."


def principals(operators: Iterable[str]) -> list[str]:
    """Every principal an installation with these operators needs (the admin first)."""
    ops = sorted(set(operators))
    return [
        ADMIN,
        POLICY,
        ARCHIVER,
        AUDITOR,
        ROOM,
        *(camera_principal(o) for o in ops),
        *(operator_principal(o) for o in ops),
    ]


def desired_acls(operators: Iterable[str]) -> frozenset[Acl]:
    frames = f"{TopicKind.FRAMES}."
    shared = f"{TopicKind.SHARED}."
    acls: list[Acl] = [
        _prefixed(POLICY, Operation.READ, frames),
        *_topics(POLICY, Operation.READ, INCIDENT_COMMANDS, AUDIT_DRAFTS, GRANTS, AUDIT),
        *_topics(POLICY, Operation.READ, INCIDENT_STATE, CAMERAS),
        _prefixed(POLICY, Operation.WRITE, shared),
        *_topics(POLICY, Operation.WRITE, GRANTS, INCIDENTS, INCIDENT_STATE),
        _prefixed(POLICY, Operation.WRITE, f"{TopicKind.INCIDENTS}."),
        *_topics(POLICY, Operation.WRITE, AUDIT_DRAFTS, AUDIT, DEAD_LETTER),
        # The worker checks that the broker stamps the commands (LogAppendTime).
        *_topics(POLICY, Operation.DESCRIBE_CONFIGS, INCIDENT_COMMANDS),
        _groups(POLICY),
        _prefixed(ARCHIVER, Operation.READ, frames),
        *_topics(ARCHIVER, Operation.WRITE, ARCHIVE_CHUNKS, DEAD_LETTER),
        _groups(ARCHIVER),
        *_topics(ROOM, Operation.WRITE, INCIDENT_COMMANDS, AUDIT_DRAFTS),
        # The grant check of archive requests; the auditors' report (it reads as itself).
        *_topics(ROOM, Operation.READ, GRANTS, AUDIT),
        *_topics(AUDITOR, Operation.READ, AUDIT),
    ]
    for operator in sorted(set(operators)):
        me = operator_principal(operator)
        own = (frames_topic(operator), camera_events_topic(operator))
        acls += _topics(camera_principal(operator), Operation.WRITE, *own)
        theirs = (shared_topic(operator), incidents_topic(operator))
        acls += _topics(me, Operation.READ, *own, *theirs, CAMERAS)
        acls.append(_groups(me, operator_groups(operator)))
    return frozenset(acls)

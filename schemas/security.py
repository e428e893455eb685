"""Who may do what on Kafka: the principals and the access control list, derived from the
operators of a configuration (pure). `vigie security apply` makes the cluster match it.

Principals (SCRAM users):

- ``vigie-admin``: the only super user; provisioning and operations tooling, never a worker.
- ``vigie-policy``: the policy workers. Reads every operator's frames and the commands; the only
  one that writes ``shared.*``, ``grants``, ``incidents``, ``incident-state`` and ``audit``.
- ``vigie-archiver``: the archivers. Reads every operator's frames; writes archive chunks and
  dead letters.
- ``vigie-auditor``: the audit archiver (`vigie audit archive --follow`). Reads ``audit`` and
  nothing else (no group: it resumes from what the object-locked bucket holds).
- ``vigie-op-<operator>``: an operator's adapters, dashboards and command-line clients. Writes
  its own ``frames.`` and ``camera-events.`` topics and incident commands; reads its own
  topics, ``shared.<operator>``, the incident events and the camera registry. Never another
  operator's frames or shared frames, never grants or the audit chain.

Consumer groups follow the principal's name: a principal may use the groups whose id starts
with it (``vigie-policy-...``, ``vigie-op-stib-...``), so nobody can join another's group and
commit its offsets.
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
    shared_topic,
)

__all__ = [
    "ADMIN",
    "ARCHIVER",
    "AUDITOR",
    "POLICY",
    "Acl",
    "Operation",
    "Pattern",
    "Resource",
    "desired_acls",
    "operator_principal",
    "principals",
]

ADMIN = "vigie-admin"
POLICY = "vigie-policy"
ARCHIVER = "vigie-archiver"
AUDITOR = "vigie-auditor"


def operator_principal(operator: str) -> str:
    return f"vigie-op-{operator}"


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


def _groups(principal: str) -> Acl:
    return Acl(principal, Resource.GROUP, principal, Pattern.PREFIXED, Operation.READ)


def principals(operators: Iterable[str]) -> list[str]:
    """Every principal an installation with these operators needs (the admin first)."""
    return [
        ADMIN,
        POLICY,
        ARCHIVER,
        AUDITOR,
        *(operator_principal(o) for o in sorted(set(operators))),
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
        *_topics(POLICY, Operation.WRITE, AUDIT_DRAFTS, AUDIT, DEAD_LETTER),
        # The worker checks that the broker stamps the commands (LogAppendTime).
        *_topics(POLICY, Operation.DESCRIBE_CONFIGS, INCIDENT_COMMANDS),
        _groups(POLICY),
        _prefixed(ARCHIVER, Operation.READ, frames),
        *_topics(ARCHIVER, Operation.WRITE, ARCHIVE_CHUNKS, DEAD_LETTER, AUDIT_DRAFTS),
        _groups(ARCHIVER),
        *_topics(AUDITOR, Operation.READ, AUDIT),
    ]
    for operator in sorted(set(operators)):
        me = operator_principal(operator)
        own = (frames_topic(operator), camera_events_topic(operator))
        acls += _topics(me, Operation.WRITE, *own, INCIDENT_COMMANDS, AUDIT_DRAFTS)
        acls += _topics(me, Operation.READ, *own, shared_topic(operator), INCIDENTS, CAMERAS)
        # Retrieval checks archive grants before it hands out another operator's archive.
        acls += _topics(me, Operation.READ, GRANTS)
        acls.append(_groups(me))
    return frozenset(acls)

"""Who may do what on Kafka, derived from the configuration's operators (pure)."""

from __future__ import annotations

from infra.security import plan
from schemas.security import (
    ARCHIVER,
    AUDITOR,
    POLICY,
    ROOM,
    Acl,
    Operation,
    Pattern,
    Resource,
    camera_principal,
    desired_acls,
    operator_principal,
    principals,
)
from schemas.topics import (
    AUDIT,
    AUDIT_DRAFTS,
    GRANTS,
    INCIDENT_COMMANDS,
    INCIDENT_STATE,
    INCIDENTS,
    incidents_topic,
    shared_topic,
)

ACLS = desired_acls(["stib", "police-x"])


def _allowed(principal: str, operation: Operation, topic: str) -> bool:
    """Whether an ACL of the set lets `principal` do `operation` on `topic` (as Kafka matches:
    a literal name or a prefix)."""
    return any(
        a.principal == principal
        and a.operation is operation
        and a.resource is Resource.TOPIC
        and (topic == a.name if a.pattern is Pattern.LITERAL else topic.startswith(a.name))
        for a in ACLS
    )


def test_an_operator_writes_and_reads_its_own_frames_only() -> None:
    """Its cameras write, the room reads for its users: two principals, so that a camera's
    credential stolen in the street reads nothing."""
    stib, cams = operator_principal("stib"), camera_principal("stib")
    assert _allowed(cams, Operation.WRITE, "frames.stib")
    assert not _allowed(cams, Operation.READ, "frames.stib")
    assert not _allowed(cams, Operation.READ, shared_topic("stib"))
    assert not _allowed(cams, Operation.READ, incidents_topic("stib"))
    assert not _allowed(stib, Operation.WRITE, "frames.stib")
    assert _allowed(stib, Operation.READ, "frames.stib")
    assert _allowed(stib, Operation.READ, shared_topic("stib"))
    assert not _allowed(stib, Operation.READ, "frames.police-x")
    assert not _allowed(stib, Operation.WRITE, "frames.police-x")
    assert not _allowed(stib, Operation.READ, shared_topic("police-x"))


def test_only_the_policy_writes_grants_shared_frames_state_and_the_audit_chain() -> None:
    for topic in (GRANTS, AUDIT, INCIDENT_STATE, shared_topic("stib")):
        writers = {a.principal for a in ACLS if _allowed(a.principal, Operation.WRITE, topic)}
        assert writers == {POLICY}, topic


def test_people_act_through_the_room_only() -> None:
    """Incident commands and audit drafts carry who asked: only the room, which authenticated
    that person, writes them (and the archiver and policy their own drafts); an operator's
    principal writes neither, nor reads the grants of others."""
    assert {a.principal for a in ACLS if _allowed(a.principal, Operation.WRITE,
                                                   INCIDENT_COMMANDS)} == {ROOM}  # fmt: skip
    drafters = {a.principal for a in ACLS if _allowed(a.principal, Operation.WRITE, AUDIT_DRAFTS)}
    assert drafters == {ROOM, POLICY}
    for op in ("stib", "police-x"):
        assert not _allowed(operator_principal(op), Operation.READ, GRANTS)


def test_an_operator_reads_the_incidents_that_concern_it_only() -> None:
    stib = operator_principal("stib")
    assert _allowed(stib, Operation.READ, incidents_topic("stib"))
    assert not _allowed(stib, Operation.READ, incidents_topic("police-x"))
    assert not _allowed(stib, Operation.READ, INCIDENTS)
    assert _allowed(POLICY, Operation.WRITE, incidents_topic("stib"))


def test_the_archiver_reads_every_operators_frames_and_writes_no_frames() -> None:
    assert _allowed(ARCHIVER, Operation.READ, "frames.stib")
    assert _allowed(ARCHIVER, Operation.READ, "frames.police-x")
    assert not _allowed(ARCHIVER, Operation.WRITE, "frames.stib")
    assert not _allowed(ARCHIVER, Operation.WRITE, shared_topic("stib"))


def test_groups_are_the_principals_own() -> None:
    groups = {(a.principal, a.name) for a in ACLS if a.resource is Resource.GROUP}
    assert all(prefix.startswith(principal) for principal, prefix in groups)
    assert all(a.pattern is Pattern.PREFIXED for a in ACLS if a.resource is Resource.GROUP)


def test_an_operator_cannot_use_the_groups_of_one_whose_id_starts_the_same() -> None:
    acls = desired_acls(["stib", "stib-north"])
    stib = {a.name for a in acls if a.resource is Resource.GROUP and a.principal == "vigie-op-stib"}
    assert stib == {"vigie-op-stib."}
    assert not any("vigie-op-stib-north.x".startswith(prefix) for prefix in stib)


def test_principals_are_the_admin_the_services_and_one_per_operator() -> None:
    assert principals(["stib", "police-x"]) == [
        "vigie-admin",
        POLICY,
        ARCHIVER,
        AUDITOR,
        ROOM,
        "vigie-cam-police-x",
        "vigie-cam-stib",
        "vigie-op-police-x",
        "vigie-op-stib",
    ]


def test_apply_adds_what_is_missing_and_removes_what_is_no_longer_wanted() -> None:
    stale = Acl("vigie-op-gone", Resource.TOPIC, "frames.gone", Pattern.LITERAL, Operation.WRITE)
    kept = next(iter(sorted(ACLS)))
    todo = plan(ACLS, [kept, stale])
    assert set(todo.create) == ACLS - {kept}
    assert todo.delete == [stale]
    assert plan(ACLS, ACLS).create == []


def test_the_auditor_reads_the_audit_chain_and_nothing_else() -> None:
    """The audit archiver cannot write the chain it anchors, nor read any frame."""
    mine = {(a.operation, a.resource, a.name) for a in ACLS if a.principal == AUDITOR}
    assert mine == {(Operation.READ, Resource.TOPIC, AUDIT)}

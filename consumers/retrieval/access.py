"""Who may retrieve which archived images, pure: deny by default.

- An operator always reads its own cameras' archive.
- Another operator's camera only through grants with ``archive`` on that camera, given by its
  owner to the requester, whose periods together cover the whole requested window. An ACTIVE
  grant covers ``[valid_from, valid_until)``; a REVOKED one still covers what it allowed before
  its revocation, ``[valid_from, revoked_at)`` (evidence of a closed incident stays reachable
  by those who were granted it then, nothing after). Live-only or partial grants refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.records import Grant, GrantStatus

__all__ = ["Decision", "archive_access", "latest_grants", "touches"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    grant_ids: tuple[str, ...] = ()


def latest_grants(records: Iterable[tuple[str, Grant | None]]) -> dict[str, Grant]:
    """The grants in force after reading the compacted ``grants`` topic in order:
    (grant id, record) pairs, the last record of an id wins, a tombstone (None) removes it."""
    grants: dict[str, Grant] = {}
    for grant_id, grant in records:
        if grant is None:
            grants.pop(grant_id, None)
        else:
            grants[grant_id] = grant
    return grants


def _covered_until(grant: Grant) -> datetime:
    """The end of the period a grant's archive right covers."""
    if grant.status is GrantStatus.ACTIVE:
        return grant.valid_until
    if grant.revoked_at is None:
        return grant.valid_from  # revoked, moment unknown: covers nothing
    return min(grant.valid_until, grant.revoked_at)


def _usable(
    requester: str, owner: str, camera_id: str, grants: Iterable[Grant]
) -> list[tuple[Grant, datetime]]:
    """The archive grants of `requester` on the camera with the end of what each covers, in
    order of their start."""
    return sorted(
        (
            (g, _covered_until(g))
            for g in grants
            if g.archive
            and g.camera_id == camera_id
            and g.owner_operator == owner
            and g.grantee_operator == requester
            and _covered_until(g) > g.valid_from
        ),
        key=lambda pair: pair[0].valid_from,
    )


def touches(
    *,
    requester: str,
    owner: str,
    camera_id: str,
    start: datetime,
    end: datetime,
    grants: Iterable[Grant],
) -> bool:
    """Whether some archive grant of ``requester`` on the camera covers part of [start, end):
    enough to look up which chunks lie there, never to hand one out (``archive_access``)."""
    if requester == owner:
        return True
    return any(
        g.valid_from < end and until > start
        for g, until in _usable(requester, owner, camera_id, grants)
    )


def archive_access(
    *,
    requester: str,
    owner: str,
    camera_id: str,
    start: datetime,
    end: datetime,
    grants: Iterable[Grant],
) -> Decision:
    """May ``requester`` retrieve ``owner``'s camera ``camera_id`` over [start, end)?"""
    if end <= start:
        return Decision(False, f"empty window: {start.isoformat()} is not before {end.isoformat()}")
    if requester == owner:
        return Decision(True, "own camera")
    usable = _usable(requester, owner, camera_id, grants)
    if not usable:
        return Decision(
            False, f"{requester} holds no archive grant on {owner}'s camera {camera_id}"
        )
    covered_until = start
    used: list[str] = []
    for grant, until in usable:
        if until <= covered_until:
            continue
        if grant.valid_from > covered_until:
            break
        covered_until = until
        used.append(grant.grant_id)
        if covered_until >= end:
            return Decision(True, "archive grant covers the window", tuple(used))
    return Decision(
        False,
        f"archive grants of {requester} on {owner}'s camera {camera_id} do not cover"
        f" {covered_until.isoformat()} to {end.isoformat()}",
    )

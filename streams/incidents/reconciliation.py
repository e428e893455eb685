"""Bringing an incident's active grants in line with the grants it justifies now."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta

from schemas.records import Grant, GrantStatus
from streams.incidents.agreements import grant_id
from streams.incidents.constants import DEFAULT_GRACE_S, REASON_EXPIRED, REASON_LEFT_BEHIND
from streams.incidents.state import DesiredGrant, GrantChanges, TrackedGrant


def _same_terms(grant: Grant, wanted: DesiredGrant) -> bool:
    return (grant.live, grant.archive, grant.valid_until, grant.agreement_id) == (
        wanted.live,
        wanted.archive,
        wanted.valid_until,
        wanted.agreement_id,
    )


def reconcile(
    current: Mapping[str, TrackedGrant],
    desired: Mapping[str, DesiredGrant],
    at: datetime,
    *,
    grace_s: float = DEFAULT_GRACE_S,
    granted_by: str,
    removal_reason: str = REASON_LEFT_BEHIND,
) -> GrantChanges:
    """Bring the active grants (`current`, by camera id) in line with `desired` at `at`.

    - a desired camera without a grant is granted now (valid_from = `at`);
    - a granted camera whose terms changed (live, archive, expiry, agreements) is re-granted
      under the same id, keeping its valid_from;
    - a granted camera desired again within its grace period simply stays granted;
    - an expired grant (valid_until <= `at`) is revoked now;
    - a granted camera no longer desired is revoked once it has been left behind for
      `grace_s` seconds (0: at once, e.g. on close), with `removal_reason`.

    Output lists are sorted by camera id, so the records are deterministic.
    """
    granted: list[Grant] = []
    revoked: list[Grant] = []
    tracked: dict[str, TrackedGrant] = {}
    grace = timedelta(seconds=grace_s)
    for camera_id in sorted(set(current) | set(desired)):
        held = current.get(camera_id)
        wanted = desired.get(camera_id)
        if held is None:
            assert wanted is not None  # one of the two exists: the union of both key sets
            grant = _new_grant(wanted, at, granted_by)
            granted.append(grant)
            tracked[camera_id] = TrackedGrant(grant=grant)
        elif held.grant.valid_until <= at:
            revoked.append(_revoked(held.grant, at, REASON_EXPIRED))
        elif wanted is not None:
            grant = held.grant
            if not _same_terms(grant, wanted):
                grant = dataclasses.replace(
                    grant,
                    live=wanted.live,
                    archive=wanted.archive,
                    valid_until=wanted.valid_until,
                    agreement_id=wanted.agreement_id,
                    reason=f"terms changed: {wanted.basis}",
                )
                granted.append(grant)
            tracked[camera_id] = TrackedGrant(grant=grant)
        else:
            since = held.left_behind_since or at
            if at - since >= grace:
                revoked.append(_revoked(held.grant, at, removal_reason))
            else:
                tracked[camera_id] = TrackedGrant(grant=held.grant, left_behind_since=since)
    return GrantChanges(grant=granted, revoke=revoked, tracked=tracked)


def _new_grant(wanted: DesiredGrant, at: datetime, granted_by: str) -> Grant:
    return Grant(
        grant_id=grant_id(wanted.incident_id, wanted.camera_id, at),
        incident_id=wanted.incident_id,
        camera_id=wanted.camera_id,
        owner_operator=wanted.owner,
        grantee_operator=wanted.grantee,
        live=wanted.live,
        archive=wanted.archive,
        valid_from=at,
        valid_until=wanted.valid_until,
        legal_basis=wanted.legal_basis,
        agreement_id=wanted.agreement_id,
        granted_by=granted_by,
        status=GrantStatus.ACTIVE,
        reason=wanted.basis,
    )


def _revoked(grant: Grant, at: datetime, reason: str) -> Grant:
    return dataclasses.replace(grant, status=GrantStatus.REVOKED, revoked_at=at, reason=reason)

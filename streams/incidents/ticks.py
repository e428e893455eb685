"""Time passing: what a timer decides for an incident (expiry, grace periods) and when."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from schemas.config import VigieConfig
from streams.incidents.agreements import desired_grants
from streams.incidents.constants import DEFAULT_GRACE_S, POLICY_ACTOR
from streams.incidents.reconciliation import reconcile
from streams.incidents.records import _grant_records
from streams.incidents.state import Decision, Incident, IncidentStatus


def next_deadline(incident: Incident, grace_s: float = DEFAULT_GRACE_S) -> datetime | None:
    """The earliest time a tick would revoke something (expiry or end of a grace period)."""
    deadlines = [tracked.grant.valid_until for tracked in incident.grants.values()]
    deadlines += [
        tracked.left_behind_since + timedelta(seconds=grace_s)
        for tracked in incident.grants.values()
        if tracked.left_behind_since is not None
    ]
    return min(deadlines, default=None)


def tick(
    incident: Incident | None,
    config: VigieConfig,
    at: datetime,
    *,
    grace_s: float = DEFAULT_GRACE_S,
) -> Decision:
    """Let time pass to `at` (processing time): revoke expired grants and cameras left behind
    longer than `grace_s`. Decided by the policy service itself (actor POLICY_ACTOR).

    Call it from a timer for every open incident (every second keeps revocation within a
    second of its deadline; `next_deadline` says when the next one is due).
    """
    if incident is None or incident.status is IncidentStatus.CLOSED:
        return Decision(incident=incident)
    desired = desired_grants(config, incident, at)
    changes = reconcile(incident.grants, desired, at, grace_s=grace_s, granted_by=POLICY_ACTOR)
    if not changes.grant and not changes.revoke and changes.tracked == incident.grants:
        return Decision(incident=incident)
    state = dataclasses.replace(incident, grants=changes.tracked)
    events, audit = _grant_records(state, changes, desired, at, POLICY_ACTOR)
    return Decision(
        incident=state,
        grants=(*changes.grant, *changes.revoke),
        events=tuple(events),
        audit=tuple(audit),
    )

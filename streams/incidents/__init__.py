"""Incidents and the grants they justify, pure: no Kafka, no Faust, no clock, no I/O.

An incident command (open, update, close) and the incident's current state go in; the new state
and every record to publish come out (:func:`handle`): grants for the compacted ``grants`` topic,
incident events for dashboards, audit record drafts (sealed into the hash chain by
``schemas.audit_chain.seal``). Time passing (grace periods, agreement expiry) is the same
computation driven by a timer instead of a command (:func:`tick`). The worker's command loop
(``streams.incident_processor``) only calls these and sends what they return.

Decisions, where the design leaves room:

- **Time.** A command's decisions are stamped with the command's ``at``, never with the worker's
  clock, so that processing the same command twice yields the same records. ``at`` is the time
  the *broker* wrote the command (the command topic uses LogAppendTime): stable across
  redeliveries and out of the client's hands. The time the client claims (``claimed_at``) is
  kept in the audit as a claim and decides nothing.
- **At-least-once.** Commands of one incident share its key, hence its partition and order;
  ``seq`` is the command's offset in that partition. A command whose ``seq`` is not past the
  last one applied is a redelivery: it changes nothing and emits nothing (``Decision.replay``).
  (A client's clock cannot freeze an incident: a command dated in the future decides nothing
  about which later commands are redeliveries.) Grant ids are ``<incident>:<camera>``, so a
  re-sent grant overwrites itself in the compacted topic; audit ids are derived from the
  incident, decision time, action and camera, so duplicated audit drafts are recognisable.
- **Several agreements for one camera** (same owner and grantee, different scopes): their rights
  merge — live if any grants live, archive if any grants archive, the latest expiry — and the
  grant names every agreement, comma-separated, in ``agreement_id``.
- **Expiry** is ``opened_at + max_duration_minutes`` of the agreement: an agreement covers an
  incident for that long, and a camera met late in a pursuit expires with the others. An expired
  camera is not granted again by a later update.
- **Legal basis.** A grant carries the incident's legal basis (the requester's justification);
  the agreement's own legal basis is in the audit details.
- **Direction of travel** is from the last position that differed by at least
  ``geometry.MIN_MOVE_M`` (a radius-only update keeps the predicted cameras).
- Only cameras of *other* operators are granted: an operator always sees its own.
"""

from __future__ import annotations

from streams.incidents.agreements import (
    allowed_kinds,
    desired_grants,
    grant_id,
    matching_agreements,
)
from streams.incidents.commands import (
    CloseIncident,
    Command,
    OpenIncident,
    Refusal,
    UpdateIncident,
)
from streams.incidents.constants import (
    DEFAULT_GRACE_S,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    POLICY_ACTOR,
)
from streams.incidents.decide import handle
from streams.incidents.reconciliation import reconcile
from streams.incidents.state import (
    Decision,
    DesiredGrant,
    GrantChanges,
    Incident,
    IncidentStatus,
    TrackedGrant,
)
from streams.incidents.ticks import next_deadline, tick
from streams.incidents.validation import validate

__all__ = [
    "DEFAULT_GRACE_S",
    "MAX_RADIUS_M",
    "MIN_RADIUS_M",
    "POLICY_ACTOR",
    "CloseIncident",
    "Command",
    "Decision",
    "DesiredGrant",
    "GrantChanges",
    "Incident",
    "IncidentStatus",
    "OpenIncident",
    "Refusal",
    "TrackedGrant",
    "UpdateIncident",
    "allowed_kinds",
    "desired_grants",
    "grant_id",
    "handle",
    "matching_agreements",
    "next_deadline",
    "reconcile",
    "tick",
    "validate",
]

"""Which operators an incident's events reach (pure): the ones it concerns, and nobody else.

An incident concerns its own operator and every operator one of whose cameras it shares or has
just stopped sharing; an accident or a demonstration concerns every operator (everyone follows
those live). The sharing of one camera (CAMERA_GRANTED, CAMERA_REVOKED) of a private incident
reaches the incident's operator and that camera's owner only: an owner does not learn which
cameras of others are shared. A refused command concerns only the operator who gave it: a
refusal must not tell anyone else that the incident (or its id) exists. Each audience member
reads the events on its own ``incidents.<operator>`` topic, which the broker lets only that
operator read.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.records import PUBLIC_INCIDENT_KINDS, Grant, IncidentEvent, IncidentEventKind
from streams.incidents.state import Incident

__all__ = ["audience"]

_CAMERA_EVENTS = (IncidentEventKind.CAMERA_GRANTED, IncidentEventKind.CAMERA_REVOKED)


def audience(
    event: IncidentEvent,
    before: Incident | None,
    after: Incident | None,
    grants: Iterable[Grant],
    everyone: Iterable[str] = (),
) -> frozenset[str]:
    """The operators that may see `event`, decided with the incident state around it, the
    grants (given or revoked) the same decision carries, and all the operators (`everyone`)."""
    if event.kind is IncidentEventKind.REFUSED:
        return frozenset({event.operator}) if event.operator else frozenset()
    state = after or before
    kind = state.kind.value if state is not None else event.incident_kind
    if kind is not None and kind.upper() in PUBLIC_INCIDENT_KINDS:
        return frozenset(everyone) | {event.operator}
    if event.kind in _CAMERA_EVENTS and event.camera_id is not None:
        owners = {g.grant.camera_id: g.grant.owner_operator for s in (before, after) if s
                  for g in s.grants.values()}  # fmt: skip
        owners.update({g.camera_id: g.owner_operator for g in grants})
        owner = owners.get(event.camera_id)
        return frozenset({event.operator, *([owner] if owner else [])}) - {""}
    concerned = {event.operator}
    for state in (before, after):
        if state is not None:
            concerned.add(state.operator)
            concerned.update(t.grant.owner_operator for t in state.grants.values())
    concerned.update(g.owner_operator for g in grants)
    concerned.discard("")
    return frozenset(concerned)

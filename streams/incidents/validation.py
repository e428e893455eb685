"""Why a command cannot be applied: the refusals, in words a requester can read."""

from __future__ import annotations

import math

from schemas.config import VigieConfig
from streams.incidents.agreements import allowed_kinds
from streams.incidents.commands import Command, OpenIncident, Refusal, UpdateIncident
from streams.incidents.constants import MAX_RADIUS_M, MIN_RADIUS_M
from streams.incidents.state import Incident, IncidentStatus


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _radius_problem(radius_m: float) -> str | None:
    if not math.isfinite(radius_m) or not MIN_RADIUS_M <= radius_m <= MAX_RADIUS_M:
        return (
            f"radius {radius_m:g} m is out of bounds: between {MIN_RADIUS_M:g} m"
            f" and {MAX_RADIUS_M:g} m"
        )
    return None


def validate(incident: Incident | None, command: Command, config: VigieConfig) -> Refusal | None:
    """Why `command` cannot be applied to `incident` (None: no such incident yet), if it can't."""
    if _blank(command.incident_id):
        return Refusal("missing incident id")
    if _blank(command.requested_by):
        return Refusal("missing requester: every decision must name who asked for it")
    if isinstance(command, OpenIncident):
        return _open_problem(incident, command, config)
    # Another operator's incident is answered exactly like a missing one: a refusal must not
    # tell an operator that an incident it is not concerned by exists, or whose it is.
    if incident is None or command.operator != incident.operator:
        return Refusal(f"unknown incident {command.incident_id!r}")
    if incident.status is IncidentStatus.CLOSED:
        return Refusal(f"incident {command.incident_id!r} is closed")
    if isinstance(command, UpdateIncident):
        if command.position is None and command.radius_m is None:
            return Refusal("update changes nothing: give a new position and/or radius")
        if command.radius_m is not None:
            problem = _radius_problem(command.radius_m)
            if problem is not None:
                return Refusal(problem)
    return None


def _open_problem(
    incident: Incident | None, command: OpenIncident, config: VigieConfig
) -> Refusal | None:
    if incident is not None:
        return Refusal(f"incident id {command.incident_id!r} is already in use")
    known = {operator.id for operator in config.operators}
    if command.operator not in known:
        return Refusal(f"unknown operator {command.operator!r}")
    if _blank(command.legal_basis):
        return Refusal("missing legal basis: no camera is shared without one")
    problem = _radius_problem(command.radius_m)
    if problem is not None:
        return Refusal(problem)
    if command.kind not in allowed_kinds(config, command.operator):
        return Refusal(
            f"no sharing agreement allows {command.kind.value} incidents for {command.operator}"
        )
    return None

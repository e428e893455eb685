"""The demo's scripted pursuit: a police zone follows a suspect from a street camera into the
metro, so the demo shows what Vigie is for — another operator's cameras shared live by a grant,
the set following the suspect, all of it revoked at the close and audited.

The path is built from cameras of the configuration (pure); the runner signs in to the
incident room as the pursuing operator's demo officer and gives the commands through its API,
exactly as `vigie incident open|update|close` would.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from schemas.config import VigieConfig
from vigie.room_client import RoomClient

logger = logging.getLogger(__name__)

# Bourse (street, police) → De Brouckère → Gare Centrale → Parc (metro, STIB): the example's
# pursuit agreement shares STIB's platforms with the police zone Bruxelles-Ixelles.
PURSUER = "police-bruxelles-ixelles"
PATH_CAMERAS = ("bourse", "stib-de-brouckere", "stib-gare-centrale", "stib-parc")
RADIUS_M = 150.0
LEGAL_BASIS = "Demo: art. 25/3 LFP, flagrant délit (simulated)"


@dataclass
class Pursuit:
    incident_id: str
    operator: str
    path: tuple[tuple[float, float], ...]


def pursuit(config: VigieConfig, incident_id: str) -> Pursuit | None:
    """The scripted pursuit, or None when the configuration lacks its operator or cameras."""
    known = {c.id for c in config.cameras}
    if PURSUER not in {o.id for o in config.operators} or not set(PATH_CAMERAS) <= known:
        return None
    path = tuple(
        (config.camera(c).position.lat, config.camera(c).position.lon) for c in PATH_CAMERAS
    )
    return Pursuit(incident_id, PURSUER, path)


def request(plan: Pursuit, step: int) -> tuple[str, str, dict[str, Any] | None]:
    """The room API call of step `step` (method, path, body): open at the first position, then
    move along, then close. `plan.incident_id` is the id the room gave at the open."""
    if step == 0:
        lat, lon = plan.path[0]
        body = {"kind": "pursuit", "latitude": lat, "longitude": lon, "radius_m": RADIUS_M,
                "legal_basis": LEGAL_BASIS}  # fmt: skip
        return "POST", "/api/incidents", body
    if step < len(plan.path):
        lat, lon = plan.path[step]
        return "PATCH", f"/api/incidents/{plan.incident_id}", {"latitude": lat, "longitude": lon}
    return "POST", f"/api/incidents/{plan.incident_id}/close", None


async def run(room: RoomClient, plan: Pursuit, start_after_s: float, step_s: float) -> None:
    """Open, follow the path one step every `step_s`, close; cancel to stop early (the
    incident is then closed all the same, so the demo never leaves cameras shared)."""

    async def send(step: int) -> None:
        method, path, body = request(plan, step)
        answer = await asyncio.to_thread(room.request, method, path, body)
        if step == 0:
            plan.incident_id = answer["incident_id"]
        logger.info("demo pursuit: %s %s", method, path)

    opened = False
    try:
        await asyncio.sleep(start_after_s)
        for step in range(len(plan.path)):
            await send(step)
            opened = True
            await asyncio.sleep(step_s)
    finally:
        if opened:
            await asyncio.shield(send(len(plan.path)))

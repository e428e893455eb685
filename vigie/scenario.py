"""The demo's scripted pursuit: a police zone follows a suspect from a street camera into the
metro, so the demo shows what Vigie is for — another operator's cameras shared live by a grant,
the set following the suspect, all of it revoked at the close and audited.

The path is built from cameras of the configuration (pure); the runner only sends incident
commands, exactly as `vigie incident open|update|close` would.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime import kafka_clients
from schemas.codec import INCIDENT_COMMAND
from schemas.config import IncidentKind, VigieConfig
from schemas.incident_commands import close_record, open_record, update_record
from schemas.records import IncidentCommand
from schemas.topics import INCIDENT_COMMANDS

logger = logging.getLogger(__name__)

# Bourse (street, police) → De Brouckère → Gare Centrale → Parc (metro, STIB): the example's
# pursuit agreement shares STIB's platforms with the police zone Bruxelles-Ixelles.
PURSUER = "police-bruxelles-ixelles"
PATH_CAMERAS = ("bourse", "stib-de-brouckere", "stib-gare-centrale", "stib-parc")
RADIUS_M = 150.0
LEGAL_BASIS = "Demo: art. 25/3 LFP, flagrant délit (simulated)"


@dataclass(frozen=True)
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


def commands(plan: Pursuit, at: datetime, step: int) -> IncidentCommand:
    """The command of step `step`: open at the first position, then move along, then close."""
    if step == 0:
        lat, lon = plan.path[0]
        return open_record(
            incident_id=plan.incident_id, operator=plan.operator, kind=IncidentKind.PURSUIT,
            latitude=lat, longitude=lon, radius_m=RADIUS_M, legal_basis=LEGAL_BASIS,
            requested_by="demo.inspector", at=at,
        )  # fmt: skip
    if step < len(plan.path):
        lat, lon = plan.path[step]
        return update_record(
            incident_id=plan.incident_id, operator=plan.operator, latitude=lat, longitude=lon,
            radius_m=None, requested_by="demo.inspector", at=at,
        )  # fmt: skip
    return close_record(
        incident_id=plan.incident_id, operator=plan.operator, requested_by="demo.inspector", at=at
    )


async def run(bootstrap: str, plan: Pursuit, start_after_s: float, step_s: float) -> None:
    """Open, follow the path one step every `step_s`, close; cancel to stop early (the
    incident is then closed all the same, so the demo never leaves cameras shared)."""
    producer = kafka_clients.producer(bootstrap, client_id="vigie-demo-pursuit")
    await producer.start()

    async def send(step: int) -> None:
        record = commands(plan, datetime.now(UTC), step)
        await producer.send_and_wait(
            INCIDENT_COMMANDS, key=plan.incident_id.encode(), value=INCIDENT_COMMAND.encode(record)
        )
        logger.info("demo pursuit: %s %s", record.action, plan.incident_id)

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
        await producer.stop()

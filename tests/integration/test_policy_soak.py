"""Workers stopped and killed at random while incident commands arrive: every command applied
exactly once and in order per incident, no grant left active after its incident closed."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import pytest

from tests.integration.policy_soak import run_soak
from tests.integration.policy_world import build_world, provision

pytestmark = pytest.mark.integration

RESTARTS = 10


async def test_commands_survive_worker_restarts_and_kills_applied_once_in_order(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("VIGIE_SOAK_SEED", random.randrange(1 << 30)))
    print(f"soak seed {seed} (VIGIE_SOAK_SEED={seed} repeats this run)")
    world = build_world(uuid.uuid4().hex[:6], tmp_path)
    await provision(kafka_bootstrap, world)
    result = await run_soak(
        kafka_bootstrap, world, tmp_path, restarts=RESTARTS, incidents=25, seed=seed
    )
    print(
        f"{result.commands} commands, {result.restarts} restarts ({result.kills} kill -9,"
        f" {result.terms} SIGTERM) in {result.seconds:.0f} s; gaps detected: {result.gap_lines}"
    )
    assert result.wrong == {}, f"seed {seed}: audited decisions differ from the commands sent"
    assert result.events_out_of_order == {}, f"seed {seed}"
    assert result.active_after_close == [], f"seed {seed}: grants left active after close"

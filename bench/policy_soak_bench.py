"""Policy soak benchmark: 50 worker stops (half SIGTERM, half kill -9, at random points) while
incident commands keep arriving, then the same checks as tests/integration/test_policy_soak.py:
every command applied exactly once and in order per incident, no grant active after its close.

    .venv/bin/python -m bench.policy_soak_bench [--restarts 50] [--incidents 100] [--seed N]

Runs on the dev stack (`vigie stack up`); writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.publish_bench import _replace_section
from infra.local import stack
from infra.local.settings import REPO_ROOT, StackSettings
from runtime.identity import act_as_admin
from tests.integration.policy_soak import SoakResult, run_soak
from tests.integration.policy_world import build_world, provision

HEADING = "## Policy soak (bench/policy_soak_bench.py)"


def _section(result: SoakResult, seed: int, command: str) -> str:
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    verdict = "yes" if result.ok else "NO"
    return "\n".join(
        [
            HEADING,
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, {machine}, single-node Kafka 4.1 on loopback."
            f" Reproduce: `{command}`.",
            "",
            "| measure | result |",
            "|---|---|",
            f"| incidents (open, update, update, close) | {result.incidents} |",
            f"| commands | {result.commands} (a quarter backlogged before the first worker) |",
            f"| worker stops | {result.restarts}: {result.kills} kill -9, {result.terms} SIGTERM |",
            f"| duration | {result.seconds:.0f} s |",
            f"| every command audited exactly once, in order | {verdict}"
            f" ({len(result.wrong)} incidents wrong) |",
            f"| incident events in order (repeats removed) | "
            f"{'yes' if not result.events_out_of_order else 'NO'} |",
            f"| grants active after their incident closed | {len(result.active_after_close)} |",
            f"| gaps detected by the workers (and re-read) | {len(result.gap_lines)} |",
            f"| seed | {seed} |",
            "",
        ]
    )


async def main_async(bootstrap: str, restarts: int, incidents: int, seed: int, out: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="vigie-soak-") as tmp:
        world = build_world(uuid.uuid4().hex[:6], Path(tmp))
        await provision(bootstrap, world)
        result = await run_soak(
            bootstrap, world, Path(tmp), restarts=restarts, incidents=incidents, seed=seed
        )
    command = (
        f".venv/bin/python -m bench.policy_soak_bench --restarts {restarts}"
        f" --incidents {incidents} --seed {seed}"
    )
    text = _section(result, seed, command)
    print(text)
    _replace_section(out, HEADING, text)
    return result.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--restarts", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    act_as_admin()  # the benchmark provisions and drives the stack as the admin
    conn = stack.up(StackSettings.from_env())
    ok = asyncio.run(
        main_async(conn.kafka_bootstrap, args.restarts, args.incidents, args.seed, args.out)
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""`vigie policy worker`: one policy worker (incidents, grants, routing, audit sealing)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from vigie.commands.base import Subparsers, add, config_arg, group

logger = logging.getLogger(__name__)

GRACE_ENV = "VIGIE_POLICY_GRACE_S"
"""Default of `vigie policy worker --grace` (tests shorten it)."""


def policy_worker(config_path: Path, *, app_id: str, grace_s: float | None) -> int:
    """Run one policy worker until SIGTERM or Ctrl-C."""
    from runtime import connection
    from runtime.identity import act_as
    from schemas.config import load
    from schemas.security import POLICY
    from streams.incidents import DEFAULT_GRACE_S
    from streams.worker import PolicySettings, run_worker

    act_as(POLICY)
    grace = grace_s if grace_s is not None else float(os.environ.get(GRACE_ENV, DEFAULT_GRACE_S))
    settings = PolicySettings(
        config=load(config_path),
        bootstrap=connection.load().kafka_bootstrap,
        app_id=app_id,
        grace_s=grace,
    )
    logger.info(
        "policy worker %s on %s: grace %.1f s, %d agreements",
        app_id,
        settings.bootstrap,
        grace,
        len(settings.config.agreements),
    )
    return run_worker(settings)


def _policy_worker(args: argparse.Namespace) -> int:
    return policy_worker(args.config, app_id=args.app_id, grace_s=args.grace)


def register(sub: Subparsers) -> None:
    pol_sub = group(sub, "policy", "the access-policy stream processors")
    worker = add(
        pol_sub,
        "worker",
        _policy_worker,
        "run one policy worker: incidents, grants, routing, audit",
    )
    config_arg(worker)
    worker.add_argument(
        "--app-id", default="vigie-policy", help="consumer group of the incidents (and prefix)"
    )
    worker.add_argument(
        "--grace",
        type=float,
        help="seconds a camera left behind stays granted (default: $VIGIE_POLICY_GRACE_S or 30)",
    )

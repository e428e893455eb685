"""`vigie provision`, `vigie topics provision` and `vigie config check`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from vigie.commands.base import Subparsers, add, config_arg, group


def _topics_provision(args: argparse.Namespace) -> int:
    from runtime.identity import act_as_admin
    from vigie import provisioning

    act_as_admin()
    return asyncio.run(provisioning.provision_topics_command(args.config, strict=args.strict))


def _provision(args: argparse.Namespace) -> int:
    from runtime.identity import act_as_admin
    from vigie import provisioning

    act_as_admin()
    return asyncio.run(provisioning.provision_all_command(args.config))


def _config_check(args: argparse.Namespace) -> int:
    from schemas.config import load

    config = load(args.config)
    print(
        f"{args.config}: {len(config.operators)} operators, {len(config.cameras)} cameras, "
        f"{len(config.agreements)} agreements: OK"
    )
    return 0


def register(sub: Subparsers) -> None:
    topics_sub = group(sub, "topics", "the topic catalogue")
    prov = add(
        topics_sub,
        "provision",
        _topics_provision,
        "create missing topics of the catalogue and report drift",
    )
    config_arg(prov)
    prov.add_argument("--strict", action="store_true", help="exit 1 when drift is found")

    prov_all = add(sub, "provision", _provision, "topics, buckets and the camera registry")
    config_arg(prov_all)

    config_sub = group(sub, "config", "configuration files")
    check = add(config_sub, "check", _config_check, "validate a configuration file")
    check.add_argument("config", type=Path)

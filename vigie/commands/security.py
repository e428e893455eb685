"""`vigie security apply|rotate`: Kafka principals, their credentials and ACLs."""

from __future__ import annotations

import argparse

from vigie.commands.base import Subparsers, add, config_arg, group


def _apply(args: argparse.Namespace) -> int:
    from runtime.identity import act_as_admin
    from schemas.config import load
    from vigie.provisioning import apply_security

    act_as_admin()
    apply_security(load(args.config), dry_run=args.dry_run)
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from infra import security
    from runtime import connection
    from runtime.identity import act_as_admin, kafka_auth

    act_as_admin()
    conn = connection.load()
    security.rotate(conn.kafka_bootstrap, kafka_auth(), connection.state_dir(), args.principal)
    print(f"{args.principal}: new password in the state folder; restart its processes")
    return 0


def register(sub: Subparsers) -> None:
    sec_sub = group(sub, "security", "Kafka principals, credentials and ACLs")
    apply = add(
        sec_sub,
        "apply",
        _apply,
        "derive principals and ACLs from the configuration, show the difference, apply it",
    )
    config_arg(apply)
    apply.add_argument("--dry-run", action="store_true", help="show the difference only")
    rotate = add(sec_sub, "rotate", _rotate, "a new password for a principal")
    rotate.add_argument("principal", help="e.g. vigie-policy, vigie-op-stib")

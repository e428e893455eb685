"""What every command group shares: the handler type, the subcommand helper, common arguments."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

__all__ = [
    "EXAMPLE_CONFIG",
    "Handler",
    "Subparsers",
    "act_as_tooling",
    "actor",
    "add",
    "config_arg",
    "group",
    "moment",
]

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "brussels.yaml"

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:  # generic for the type checker only: not subscriptable at run time
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def add(parent: Subparsers, name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
    """A subcommand `name` of `parent` that runs `handler`."""
    p: argparse.ArgumentParser = parent.add_parser(name, help=help_, description=help_)
    p.set_defaults(handler=handler)
    return p


def group(parent: Subparsers, name: str, help_: str) -> Subparsers:
    """A command group `name` whose subcommands are required."""
    p = parent.add_parser(name, help=help_, description=help_)
    sub: Subparsers = p.add_subparsers(dest=f"{name}_command", required=True)
    return sub


def config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=EXAMPLE_CONFIG,
        help=f"configuration file (default: the example, {EXAMPLE_CONFIG.name})",
    )


def moment(text: str) -> datetime:
    """An ISO 8601 time with its UTC offset (`2026-11-26T12:00:00Z`)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-11-26T12:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z or +01:00")
    return value


def act_as_tooling() -> None:
    """Operations and audit commands: the principal VIGIE_PRINCIPAL names, else the admin (the
    operations team's tooling, like Kafka's own tools)."""
    from runtime.identity import act_as_admin, current_principal

    if current_principal() is None:
        act_as_admin()


def actor() -> str:
    """The local user, the default actor of audited commands."""
    return getpass.getuser()

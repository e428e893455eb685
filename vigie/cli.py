"""The `vigie` command: one entry point, one module per command group (`vigie/commands/`).

`main()` turns any ``VigieError`` (an error a user can act on: bad configuration, stack not
running, missing topic or tool, a refusal) into one line on stderr and its exit code; the codes
are listed in the README.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runtime import logs
from schemas.errors import VigieError
from vigie.commands import (
    archive,
    audit,
    incident,
    policy,
    room,
    security,
    services,
    setup,
    stack,
)
from vigie.commands.base import Handler

COMMAND_GROUPS = (stack, setup, security, services, incident, policy, audit, archive, room)
"""Each registers its subcommands, in this order in `vigie --help`."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.verbose or bool(os.environ.get("VIGIE_DEBUG")))
    handler: Handler = args.handler
    try:
        return handler(args)
    except VigieError as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

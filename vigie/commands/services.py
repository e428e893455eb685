"""The long-running services of the pipeline and the demo that supervises them all:
`vigie cameras run`, `vigie demo`, and `vigie tail` to watch any topic."""

from __future__ import annotations

import argparse
import asyncio

from vigie.commands.base import Subparsers, act_as_tooling, add, config_arg, group


def _cameras_run(args: argparse.Namespace) -> int:
    from producers import runner
    from runtime.identity import act_as_cameras

    # An operator's adapters write with their own write-only credentials; adapters of several
    # operators in one process act as whoever VIGIE_PRINCIPAL names (the broker refuses what
    # it may not do).
    if args.operator and len(set(args.operator)) == 1:
        act_as_cameras(args.operator[0])
    return runner.main(args.config, operators=args.operator, seconds=args.seconds)


def _demo(args: argparse.Namespace) -> int:
    from runtime.identity import act_as_admin
    from vigie import demo

    act_as_admin()  # it provisions, then starts each service with its own principal
    return demo.run(args.config, seconds=args.seconds, pursue=not args.no_pursuit)


def _tail(args: argparse.Namespace) -> int:
    from vigie import tail

    act_as_tooling()
    return asyncio.run(
        tail.run(
            args.topic, from_beginning=args.from_beginning, limit=args.limit, timeout_s=args.timeout
        )
    )


def register(sub: Subparsers) -> None:
    tail_p = add(sub, "tail", _tail, "print the records of a topic, decoded")
    tail_p.add_argument("topic")
    tail_p.add_argument("--from-beginning", action="store_true")
    tail_p.add_argument("--limit", type=int, default=0, help="stop after N records (0: never)")
    tail_p.add_argument(
        "--timeout", type=float, default=0.0, help="stop after N idle seconds (0: never)"
    )

    cams_sub = group(sub, "cameras", "camera adapters")
    run = add(cams_sub, "run", _cameras_run, "run the camera adapters of a configuration")
    config_arg(run)
    run.add_argument(
        "--operator", action="append", help="only this operator's cameras (repeatable)"
    )
    run.add_argument(
        "--seconds", type=float, default=0.0, help="stop after N seconds (0: until Ctrl-C)"
    )

    demo_p = add(sub, "demo", _demo, "the whole pipeline with simulated cameras")
    config_arg(demo_p)
    demo_p.add_argument(
        "--seconds", type=float, default=0.0, help="stop after N seconds (0: until Ctrl-C)"
    )
    demo_p.add_argument(
        "--no-pursuit", action="store_true", help="do not run the scripted pursuit incident"
    )

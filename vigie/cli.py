"""The `vigie` command: one entry point, one subcommand per job.

Handlers parse arguments and call into the stages; errors that a user can fix (bad config, stack
not running) print one clear message and exit 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from infra.local import kafka, stack
from infra.local.settings import StackConfigError, StackSettings
from vigie import logs

logger = logging.getLogger(__name__)

EXAMPLE_CONFIG = Path(__file__).resolve().parent / "examples" / "brussels.yaml"

Handler = Callable[[argparse.Namespace], int]


def _stack_up(args: argparse.Namespace) -> int:
    settings = StackSettings.from_env()
    connection = stack.up(settings, timeout_s=args.timeout)
    print(f"kafka  {connection.kafka_bootstrap}")
    print(f"minio  http://{connection.minio_endpoint}")
    print(f"root credentials in {settings.state_dir / 'minio'}")
    print(f"connection file {settings.connection_file}")
    return 0


def _stack_down(_: argparse.Namespace) -> int:
    stopped = stack.down(StackSettings.from_env())
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _stack_status(_: argparse.Namespace) -> int:
    statuses = stack.status(StackSettings.from_env())
    for s in statuses:
        print(s.line())
    return 0 if all(s.answers for s in statuses) else 1


def _stack_logs(args: argparse.Namespace) -> int:
    files = stack.log_files(StackSettings.from_env())
    for name in args.service or sorted(files):
        print(f"==> {files[name]} <==")
        print(stack.tail(files[name], args.lines))
    return 0


def _kafka_tool(args: argparse.Namespace) -> int:
    settings = StackSettings.from_env()
    kafka.ensure_jars(settings)
    tool_args = list(args.args)
    if tool_args[:1] == ["--"]:
        tool_args = tool_args[1:]
    tool_args = kafka.with_bootstrap(args.tool, tool_args, settings.kafka_bootstrap)
    return subprocess.call(kafka.tool_command(settings, args.tool, tool_args))


def _topics_provision(args: argparse.Namespace) -> int:
    from vigie import provisioning

    return asyncio.run(provisioning.provision_topics_command(args.config, strict=args.strict))


def _provision(args: argparse.Namespace) -> int:
    from vigie import provisioning

    return asyncio.run(provisioning.provision_all_command(args.config))


def _config_check(args: argparse.Namespace) -> int:
    from schemas.config import load

    config = load(args.config)
    print(
        f"{args.config}: {len(config.operators)} operators, {len(config.cameras)} cameras, "
        f"{len(config.agreements)} agreements: OK"
    )
    return 0


def _tail(args: argparse.Namespace) -> int:
    from vigie import tail

    return asyncio.run(
        tail.run(
            args.topic, from_beginning=args.from_beginning, limit=args.limit, timeout_s=args.timeout
        )
    )


def _cameras_run(args: argparse.Namespace) -> int:
    from producers import runner

    return runner.main(args.config, operators=args.operator, seconds=args.seconds)


def _demo(args: argparse.Namespace) -> int:
    from vigie import demo

    return demo.run(args.config, seconds=args.seconds, pursue=not args.no_pursuit)


def _dashboard(args: argparse.Namespace) -> int:
    from consumers.dashboard import run

    return run.main(args.operator, args.host, args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigie", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: Handler,
        help_: str,
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            default=EXAMPLE_CONFIG,
            help=f"configuration file (default: the example, {EXAMPLE_CONFIG.name})",
        )

    stack_p = sub.add_parser("stack", help="the local Kafka and MinIO")
    stack_sub = stack_p.add_subparsers(dest="stack_command", required=True)
    up = command(stack_sub, "up", _stack_up, "fetch, build and start Kafka and MinIO (idempotent)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for each service")
    command(stack_sub, "down", _stack_down, "stop what `up` started")
    command(
        stack_sub, "status", _stack_status, "which services run and answer (exit 1 if one does not)"
    )
    logs_p = command(stack_sub, "logs", _stack_logs, "the last lines of the service logs")
    logs_p.add_argument("service", nargs="*", choices=["kafka", "minio"])
    logs_p.add_argument("-n", "--lines", type=int, default=40)

    kafka_p = command(sub, "kafka", _kafka_tool, "run one of Kafka's own tools against the stack")
    kafka_p.add_argument("tool", choices=sorted(kafka.TOOLS))
    kafka_p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the tool")

    topics_p = sub.add_parser("topics", help="the topic catalogue")
    topics_sub = topics_p.add_subparsers(dest="topics_command", required=True)
    prov = command(
        topics_sub,
        "provision",
        _topics_provision,
        "create missing topics of the catalogue and report drift",
    )
    config_arg(prov)
    prov.add_argument("--strict", action="store_true", help="exit 1 when drift is found")

    prov_all = command(sub, "provision", _provision, "topics, buckets and the camera registry")
    config_arg(prov_all)

    config_p = sub.add_parser("config", help="configuration files")
    config_sub = config_p.add_subparsers(dest="config_command", required=True)
    check = command(config_sub, "check", _config_check, "validate a configuration file")
    check.add_argument("config", type=Path)

    tail_p = command(sub, "tail", _tail, "print the records of a topic, decoded")
    tail_p.add_argument("topic")
    tail_p.add_argument("--from-beginning", action="store_true")
    tail_p.add_argument("--limit", type=int, default=0, help="stop after N records (0: never)")
    tail_p.add_argument(
        "--timeout", type=float, default=0.0, help="stop after N idle seconds (0: never)"
    )

    cams = sub.add_parser("cameras", help="camera adapters")
    cams_sub = cams.add_subparsers(dest="cameras_command", required=True)
    run = command(cams_sub, "run", _cameras_run, "run the camera adapters of a configuration")
    config_arg(run)
    run.add_argument(
        "--operator", action="append", help="only this operator's cameras (repeatable)"
    )
    run.add_argument(
        "--seconds", type=float, default=0.0, help="stop after N seconds (0: until Ctrl-C)"
    )

    demo_p = command(sub, "demo", _demo, "the whole pipeline with simulated cameras")
    config_arg(demo_p)
    demo_p.add_argument(
        "--seconds", type=float, default=0.0, help="stop after N seconds (0: until Ctrl-C)"
    )
    demo_p.add_argument(
        "--no-pursuit", action="store_true", help="do not run the scripted pursuit incident"
    )
    from streams import cli as streams_cli  # each stage wires its own subcommands

    streams_cli.add_commands(sub, config_arg)

    dash = command(sub, "dashboard", _dashboard, "one operator's live dashboard (web page)")
    dash.add_argument("--operator", required=True, help="whose dashboard: own + shared cameras")
    dash.add_argument("--host", default="127.0.0.1")
    dash.add_argument("--port", type=int, default=8080)

    from consumers.archive import cli as archive_cli

    archive_cli.add_commands(sub, config_arg)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from schemas.config import ConfigError

    args = build_parser().parse_args(argv)
    logs.configure(args.verbose or bool(os.environ.get("VIGIE_DEBUG")))
    handler: Handler = args.handler
    try:
        return handler(args)
    except (ConfigError, StackConfigError, stack.StackError, kafka.KafkaSetupError) as exc:
        print(f"vigie: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

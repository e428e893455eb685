"""`vigie stack up|down|status|logs` and `vigie kafka <tool>`: the local Kafka and MinIO."""

from __future__ import annotations

import argparse
import subprocess

from infra.local import kafka, stack
from infra.local.settings import StackSettings
from vigie.commands.base import Subparsers, add, group


def _up(args: argparse.Namespace) -> int:
    settings = StackSettings.from_env()
    connection = stack.up(settings, timeout_s=args.timeout)
    print(f"kafka  {connection.kafka_bootstrap}")
    print(f"minio  https://{connection.minio_endpoint}")
    print(f"CA     {connection.kafka_ca_file} (trusted by every client)")
    print(f"root credentials in {settings.state_dir / 'minio'}")
    print(f"connection file {settings.connection_file}")
    return 0


def _down(_: argparse.Namespace) -> int:
    stopped = stack.down(StackSettings.from_env())
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def _status(_: argparse.Namespace) -> int:
    statuses = stack.status(StackSettings.from_env())
    for s in statuses:
        print(s.line())
    return 0 if all(s.answers for s in statuses) else 1


def _logs(args: argparse.Namespace) -> int:
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
    # Operations tooling speaks to the cluster as the admin, over TLS like every client.
    tool_args = kafka.with_client_config(args.tool, tool_args, kafka.tools_client_config(settings))
    return subprocess.call(kafka.tool_command(settings, args.tool, tool_args))


def register(sub: Subparsers) -> None:
    stack_sub = group(sub, "stack", "the local Kafka and MinIO")
    up = add(stack_sub, "up", _up, "fetch, build and start Kafka and MinIO (idempotent)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for each service")
    add(stack_sub, "down", _down, "stop what `up` started")
    add(stack_sub, "status", _status, "which services run and answer (exit 1 if one does not)")
    logs_p = add(stack_sub, "logs", _logs, "the last lines of the service logs")
    logs_p.add_argument("service", nargs="*", choices=["kafka", "minio"])
    logs_p.add_argument("-n", "--lines", type=int, default=40)

    kafka_p = add(sub, "kafka", _kafka_tool, "run one of Kafka's own tools against the stack")
    kafka_p.add_argument("tool", choices=sorted(kafka.TOOLS))
    kafka_p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the tool")

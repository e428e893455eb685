"""Where the local stack lives: state and cache folders, ports, and the connection file.

`vigie stack up` writes `<state>/stack.json`; every client (producers, streams, consumers, CLI)
reads its connection settings from there, so the ports chosen at start-up are the ports used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime.connection import (
    CONNECTION_FILE,
    REPO_ROOT,
    Connection,
    StackConfigError,
    state_dir,
)

__all__ = ["REPO_ROOT", "Connection", "StackConfigError", "StackSettings"]


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackConfigError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StackConfigError(f"{name}={port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class StackSettings:
    """The local single-node stack: one KRaft broker+controller and one MinIO server."""

    state_dir: Path
    cache_dir: Path
    kafka_port: int = 9092
    controller_port: int = 9093
    minio_port: int = 9000
    minio_console_port: int = 9001

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        env = os.environ if env is None else env
        cache = Path(env.get("VIGIE_CACHE_DIR") or Path.home() / ".cache" / "vigie")
        return cls(
            state_dir=state_dir(env),
            cache_dir=cache.resolve(),
            kafka_port=_port(env, "VIGIE_KAFKA_PORT", 9092),
            controller_port=_port(env, "VIGIE_KAFKA_CONTROLLER_PORT", 9093),
            minio_port=_port(env, "VIGIE_MINIO_PORT", 9000),
            minio_console_port=_port(env, "VIGIE_MINIO_CONSOLE_PORT", 9001),
        )

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def minio_endpoint(self) -> str:
        return f"127.0.0.1:{self.minio_port}"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def connection_file(self) -> Path:
        return self.state_dir / CONNECTION_FILE

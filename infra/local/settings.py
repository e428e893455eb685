"""Where the local stack lives: state and cache folders, ports, and the connection file.

`vigie stack up` writes `<state>/stack.json`; every client (producers, streams, consumers, CLI)
reads its connection settings from there, so the ports chosen at start-up are the ports used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".state" / "dev"


class StackConfigError(ValueError):
    """A stack setting from the environment is unusable."""


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
        state = Path(env.get("VIGIE_STATE_DIR") or DEFAULT_STATE_DIR)
        cache = Path(env.get("VIGIE_CACHE_DIR") or Path.home() / ".cache" / "vigie")
        return cls(
            state_dir=state.resolve(),
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
        return self.state_dir / "stack.json"


@dataclass(frozen=True)
class Connection:
    """What a client needs to reach the running stack."""

    kafka_bootstrap: str
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        # The file holds the MinIO root secret: readable by its owner only.
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> Connection:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise StackConfigError(
                f"{path} not found: is the stack running? start it with `vigie stack up`"
            ) from None
        except json.JSONDecodeError as exc:
            raise StackConfigError(f"{path} is not valid JSON: {exc}") from None
        try:
            return cls(**data)
        except TypeError as exc:
            raise StackConfigError(f"{path} has unexpected content: {exc}") from None

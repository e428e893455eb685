"""How a Vigie process finds Kafka and MinIO, and where its local state folder is.

Environment variables win (a deployment sets them: ``VIGIE_KAFKA_BOOTSTRAP``,
``VIGIE_KAFKA_CA``, ``VIGIE_MINIO_ENDPOINT``, ``VIGIE_MINIO_ACCESS_KEY``,
``VIGIE_MINIO_SECRET_KEY``); otherwise the
connection file ``<state>/stack.json`` that the local stack wrote at start-up is read. Nothing
here depends on the local stack's code (``infra/local``): a deployment on a real cluster only
sets the environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from runtime.credentials import write_private
from schemas.errors import VigieError

__all__ = [
    "CONNECTION_FILE",
    "DEFAULT_STATE_DIR",
    "REPO_ROOT",
    "Connection",
    "StackConfigError",
    "load",
    "minio_admin",
    "minio_client",
    "minio_http",
    "state_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = REPO_ROOT / ".state" / "dev"
CONNECTION_FILE = "stack.json"


class StackConfigError(VigieError):
    """A connection or stack setting is unusable (or the stack is not running)."""


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The state folder of this installation: ``VIGIE_STATE_DIR`` or ``.state/dev``."""
    env = os.environ if env is None else env
    return Path(env.get("VIGIE_STATE_DIR") or DEFAULT_STATE_DIR).resolve()


@dataclass(frozen=True)
class Connection:
    """What a client needs to reach Kafka and MinIO."""

    kafka_bootstrap: str
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str
    kafka_ca_file: str = ""
    """The CA certificate that signed the brokers' TLS certificates (PEM)."""
    minio_ca_file: str = ""
    """The CA certificate that signed MinIO's (PEM); empty: the system's trusted CAs."""

    def write(self, path: Path) -> None:
        # The file holds the MinIO root secret: readable by its owner only.
        write_private(path, json.dumps(asdict(self), indent=2))

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


def load(env: Mapping[str, str] | None = None) -> Connection:
    env = os.environ if env is None else env
    bootstrap = env.get("VIGIE_KAFKA_BOOTSTRAP")
    endpoint = env.get("VIGIE_MINIO_ENDPOINT")
    if bootstrap and endpoint:
        return Connection(
            kafka_bootstrap=bootstrap,
            minio_endpoint=endpoint,
            minio_access_key=env.get("VIGIE_MINIO_ACCESS_KEY", ""),
            minio_secret_key=env.get("VIGIE_MINIO_SECRET_KEY", ""),
            kafka_ca_file=env.get("VIGIE_KAFKA_CA", ""),
            minio_ca_file=env.get("VIGIE_MINIO_CA", ""),
        )
    return Connection.read(state_dir(env) / CONNECTION_FILE)


def minio_http(connection: Connection, **pool: Any) -> urllib3.PoolManager:
    """The HTTPS connection pool of a MinIO client: it verifies MinIO's certificate against
    the connection's CA (or the system's trusted CAs)."""
    if connection.minio_ca_file:
        pool.setdefault("ca_certs", connection.minio_ca_file)
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", **pool)


def minio_client(connection: Connection, http: urllib3.PoolManager | None = None) -> Minio:
    """A MinIO client over TLS with the connection's credentials."""
    return Minio(
        connection.minio_endpoint,
        access_key=connection.minio_access_key,
        secret_key=connection.minio_secret_key,
        secure=True,
        http_client=http or minio_http(connection),
    )


def minio_admin(connection: Connection) -> MinioAdmin:
    """MinIO's admin API (users, policies) with the connection's (root) credentials."""
    return MinioAdmin(
        endpoint=connection.minio_endpoint,
        credentials=StaticProvider(connection.minio_access_key, connection.minio_secret_key),
        secure=True,
        http_client=minio_http(connection),
    )


def as_minio_service(connection: Connection, name: str) -> Connection:
    """`connection` with the MinIO user of service `name` (``schemas.security``: the
    archiver, retrieval, evidence) instead of whatever it held: never root for a service."""
    from runtime.credentials import load_minio_user

    user = load_minio_user(state_dir(), name)
    if user is None:
        raise VigieError(f"no MinIO user {name} yet: run `vigie provision` first")
    return replace(connection, minio_access_key=user.access_key, minio_secret_key=user.secret_key)

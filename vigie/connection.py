"""How a Vigie process finds Kafka and MinIO.

Environment variables win (a deployment sets them); otherwise the connection file that
`vigie stack up` wrote for the local stack is used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from minio import Minio

from infra.local.settings import Connection, StackSettings


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
        )
    return Connection.read(StackSettings.from_env(env).connection_file)


def minio_client(connection: Connection) -> Minio:
    return Minio(
        connection.minio_endpoint,
        access_key=connection.minio_access_key,
        secret_key=connection.minio_secret_key,
        secure=False,  # loopback only; deployments terminate TLS in front of MinIO
    )

"""Who this process is to Kafka: the principal it acts as, and its credentials.

Kafka decides what a client may do from the principal it authenticated as (SASL/SCRAM over
TLS), so every process says who it is: a command's handler calls :func:`act_as` (the policy
worker acts as ``vigie-policy``, an operator's camera adapters as ``vigie-op-<operator>``...).
Where no handler did, ``VIGIE_PRINCIPAL`` names it. A deployment may hand the credentials
themselves in ``VIGIE_KAFKA_USERNAME`` / ``VIGIE_KAFKA_PASSWORD``; locally they are read from
the state folder, where `vigie security apply` generated them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime import connection
from runtime.credentials import load_kafka_user
from schemas.security import ADMIN, camera_principal

__all__ = [
    "KafkaAuth",
    "act_as",
    "act_as_admin",
    "act_as_cameras",
    "current_principal",
    "kafka_auth",
]

PRINCIPAL_ENV = "VIGIE_PRINCIPAL"

_acting_as: str | None = None


@dataclass(frozen=True)
class KafkaAuth:
    username: str
    password: str
    ca_file: Path


def act_as(principal: str) -> None:
    """This process acts as `principal` from now on (its clients authenticate as it)."""
    global _acting_as
    _acting_as = principal


def act_as_cameras(operator: str) -> None:
    """The camera adapters of `operator`: they write its frames and events, read nothing."""
    act_as(camera_principal(operator))


def act_as_admin() -> None:
    """Provisioning and operations tooling only."""
    act_as(ADMIN)


def current_principal(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get("VIGIE_KAFKA_USERNAME") or _acting_as or env.get(PRINCIPAL_ENV)


def _ca_file(env: Mapping[str, str]) -> Path:
    ca = env.get("VIGIE_KAFKA_CA") or connection.load(env).kafka_ca_file
    if not ca:
        raise connection.StackConfigError(
            "no CA certificate for Kafka's TLS: set VIGIE_KAFKA_CA or start the stack"
            " (`vigie stack up` writes it into the state folder)"
        )
    return Path(ca)


def kafka_auth_for(principal: str, env: Mapping[str, str] | None = None) -> KafkaAuth:
    """The credentials of `principal` from the state folder: also for a service acting for
    several principals (the incident room reads each operator's topics as that operator)."""
    env = os.environ if env is None else env
    user = load_kafka_user(connection.state_dir(env), principal)
    if user is None:
        raise connection.StackConfigError(
            f"no credentials for the Kafka principal {principal}: run `vigie security apply`"
        )
    return KafkaAuth(user.username, user.password, _ca_file(env))


def kafka_auth(env: Mapping[str, str] | None = None) -> KafkaAuth:
    """The credentials and trusted CA of the principal this process acts as."""
    env = os.environ if env is None else env
    if env.get("VIGIE_KAFKA_USERNAME") and env.get("VIGIE_KAFKA_PASSWORD"):
        return KafkaAuth(env["VIGIE_KAFKA_USERNAME"], env["VIGIE_KAFKA_PASSWORD"], _ca_file(env))
    principal = current_principal(env)
    if principal is None:
        raise connection.StackConfigError(
            "this process did not say which Kafka principal it acts as (set VIGIE_PRINCIPAL)"
        )
    return kafka_auth_for(principal, env)

"""`vigie security apply|rotate`: the Kafka principals and ACLs of a configuration, on the cluster.

The desired state comes from ``schemas.security`` (pure). Applying it: a SCRAM credential for
every principal that has none yet (generated into the state folder, 0600), then the ACLs the
cluster lacks are created and the Vigie ACLs it should not have are deleted. Idempotent; the
difference is returned so that the command can show it. Runs as the admin principal.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from runtime.credentials import KafkaUser, load_kafka_user, save_kafka_user
from runtime.identity import KafkaAuth
from runtime.kafka_clients import librdkafka_security
from schemas.errors import VigieError
from schemas.security import ADMIN, Acl, Operation, Pattern, Resource, desired_acls, principals

__all__ = ["SecurityError", "SecurityPlan", "apply", "plan", "rotate"]

logger = logging.getLogger(__name__)

SCRAM_ITERATIONS = 8192
USABLE_TIMEOUT_S = 20.0
MANAGED_PREFIX = "User:vigie-"
"""ACLs of principals named so are Vigie's: others on the cluster are left alone."""
TIMEOUT_S = 30.0


class SecurityError(VigieError):
    """The cluster refused a credential or ACL change."""


@dataclass(frozen=True)
class SecurityPlan:
    create: list[Acl]
    delete: list[Acl]
    new_users: list[str]


def plan(
    desired: Iterable[Acl], existing: Iterable[Acl], new_users: Iterable[str] = ()
) -> SecurityPlan:
    """What to change so that the Vigie ACLs on the cluster are exactly `desired` (pure)."""
    want, have = set(desired), set(existing)
    return SecurityPlan(sorted(want - have), sorted(have - want), sorted(new_users))


def _admin_client(bootstrap: str, auth: KafkaAuth, **extra: Any) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **librdkafka_security(auth), **extra})


_RESOURCE = {Resource.TOPIC: ResourceType.TOPIC, Resource.GROUP: ResourceType.GROUP}
_PATTERN = {
    Pattern.LITERAL: ResourcePatternType.LITERAL,
    Pattern.PREFIXED: ResourcePatternType.PREFIXED,
}
_OPERATION = {
    Operation.READ: AclOperation.READ,
    Operation.WRITE: AclOperation.WRITE,
    Operation.DESCRIBE: AclOperation.DESCRIBE,
    Operation.DESCRIBE_CONFIGS: AclOperation.DESCRIBE_CONFIGS,
}


def _binding(acl: Acl) -> AclBinding:
    return AclBinding(
        _RESOURCE[acl.resource],
        acl.name,
        _PATTERN[acl.pattern],
        f"User:{acl.principal}",
        "*",
        _OPERATION[acl.operation],
        AclPermissionType.ALLOW,
    )


def _filter(acl: Acl) -> AclBindingFilter:
    b = _binding(acl)
    return AclBindingFilter(
        b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
        b.permission_type,
    )  # fmt: skip


def _from_binding(binding: AclBinding) -> Acl | None:
    fields: Any = binding  # the library's stubs widen these enums to str | int
    try:
        return Acl(
            binding.principal.removeprefix("User:"),
            {v: k for k, v in _RESOURCE.items()}[fields.restype],
            binding.name,
            {v: k for k, v in _PATTERN.items()}[fields.resource_pattern_type],
            {v: k for k, v in _OPERATION.items()}[fields.operation],
        )
    except KeyError:
        return None  # a kind of ACL Vigie never writes: reported as foreign, never deleted


def _existing(client: AdminClient) -> list[Acl]:
    anything: Any = None  # a filter's None matches every name, principal and host
    everything = AclBindingFilter(
        ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything,
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip
    bindings = client.describe_acls(everything, request_timeout=TIMEOUT_S).result()
    found = []
    for binding in bindings:
        if not binding.principal.startswith(MANAGED_PREFIX):
            continue
        acl = _from_binding(binding)
        if acl is None or binding.permission_type != AclPermissionType.ALLOW or binding.host != "*":
            logger.warning("ACL not managed by Vigie left as it is: %s", binding)
            continue
        found.append(acl)
    return found


def _upsert_users(client: AdminClient, users: list[KafkaUser]) -> None:
    if not users:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    futures = client.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(u.username, info, u.password.encode()) for u in users]
    )
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            raise SecurityError(f"SCRAM credential of {name} refused: {exc}") from exc


def _on_cluster(client: AdminClient) -> set[str]:
    """The users the cluster holds a SCRAM credential for."""
    everyone: Any = client.describe_user_scram_credentials(request_timeout=TIMEOUT_S)
    try:
        described = everyone.result()  # one future when no user is named
    except KafkaException as exc:
        raise SecurityError(f"cannot list the cluster's SCRAM users: {exc}") from exc
    return set(described)


def _wait_until_usable(bootstrap: str, auth: KafkaAuth, users: list[KafkaUser]) -> None:
    """Wait until each new user can log in: the broker applies a credential a moment after
    the admin call returns, and a client started at once would be refused."""
    deadline = time.monotonic() + USABLE_TIMEOUT_S
    for user in users:
        probe = KafkaAuth(user.username, user.password, auth.ca_file)
        while True:
            try:
                # Quiet: a refusal is expected until the credential has reached the broker.
                _admin_client(bootstrap, probe, log_level=0).list_topics(timeout=2)
                break
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise SecurityError(f"{user.username} cannot log in yet: {exc}") from exc
                time.sleep(0.2)


def apply(
    bootstrap: str,
    auth: KafkaAuth,
    state_dir: Path,
    operators: Iterable[str],
    *,
    dry_run: bool = False,
    prune: bool = True,
) -> SecurityPlan:
    """Make the cluster's principals and ACLs those of `operators`; returns what changed.
    Without `prune`, Vigie ACLs the operators do not need are kept (provisioning one operator
    more must not take the others' rights away)."""
    operators = list(operators)
    missing = [
        KafkaUser(p, secrets.token_urlsafe(24))
        for p in principals(operators)
        if p != ADMIN and load_kafka_user(state_dir, p) is None
    ]
    client = _admin_client(bootstrap, auth)
    todo = plan(desired_acls(operators), _existing(client), (u.username for u in missing))
    if not prune:
        todo = SecurityPlan(todo.create, [], todo.new_users)
    if dry_run:
        return todo
    for user in missing:
        save_kafka_user(state_dir, user)  # kept first: a retry re-sends the same secret
    # A credential the cluster lacks is sent (a cluster formatted anew has none); one it holds
    # is left alone: re-sending it would change its salt under clients logging in.
    have = _on_cluster(client)
    new = [
        u
        for p in principals(operators)
        if p != ADMIN and p not in have
        if (u := load_kafka_user(state_dir, p))
    ]
    _upsert_users(client, new)
    _wait_until_usable(bootstrap, auth, new)
    try:
        if todo.create:
            for future in client.create_acls([_binding(a) for a in todo.create]).values():
                future.result()
        if todo.delete:
            filters = [_filter(a) for a in todo.delete]
            for future in client.delete_acls(filters).values():
                future.result()
    except KafkaException as exc:
        raise SecurityError(f"the cluster refused an ACL change: {exc}") from exc
    return todo


def rotate(bootstrap: str, auth: KafkaAuth, state_dir: Path, principal: str) -> None:
    """A new password for `principal`: on the cluster, then in the state folder."""
    if principal == ADMIN:
        raise SecurityError(
            "the admin's password is part of the broker's configuration: it is not rotated here"
        )
    if load_kafka_user(state_dir, principal) is None:
        raise SecurityError(f"no principal {principal}: run `vigie security apply` first")
    user = KafkaUser(principal, secrets.token_urlsafe(24))
    _upsert_users(_admin_client(bootstrap, auth), [user])
    _wait_until_usable(bootstrap, auth, [user])
    save_kafka_user(state_dir, user)

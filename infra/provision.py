"""Provisioning against the real services: Kafka topics from the catalogue, MinIO buckets.

Idempotent: what exists is left alone and compared with the catalogue; drift is reported, never
"fixed" silently (changing partitions of a keyed topic would break per-camera ordering). The one
change made: a frames topic grows to a partition per camera (frames name their partition).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code
from minio import Minio, MinioAdmin
from minio.commonconfig import COMPLIANCE, ENABLED, Filter
from minio.error import MinioAdminException
from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.sseconfig import Rule as SSERule
from minio.sseconfig import SSEConfig

from runtime.credentials import (
    MinioUser,
    OperatorCredentials,
    load_minio_user,
    load_operator_credentials,
    save_minio_user,
    save_operator_credentials,
)
from schemas.errors import VigieError
from schemas.security import MINIO_ARCHIVER, MINIO_AUDITOR, MINIO_EVIDENCE, MINIO_RETRIEVAL
from schemas.storage import AUDIT_BUCKET, MANIFEST_EXT, archive_bucket
from schemas.topics import ExistingTopic, ProvisionPlan, TopicSpec, plan

logger = logging.getLogger(__name__)


class ProvisionError(VigieError, RuntimeError):
    """The cluster refused to create a topic or bucket."""


async def describe_topics(
    admin: AIOKafkaAdminClient, names: Sequence[str]
) -> dict[str, ExistingTopic]:
    """Partitions and explicitly set configs of the topics among `names` that exist."""
    present = set(await admin.list_topics()) & set(names)
    if not present:
        return {}
    partitions = {
        t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(sorted(present))
    }
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in sorted(present)]
    configs: dict[str, dict[str, str]] = {name: {} for name in present}
    for response in await admin.describe_configs(resources):
        for _code, _msg, _type, name, entries in response.resources:
            for entry in entries:
                key, value = entry[0], entry[1]
                configs[name][key] = value
    return {n: ExistingTopic(n, partitions[n], configs[n]) for n in present}


async def provision_topics(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], replication_factor: int = 1
) -> ProvisionPlan:
    existing = await describe_topics(admin, [s.name for s in specs])
    todo = plan(specs, existing)
    if todo.create:
        response = await admin.create_topics(
            [
                NewTopic(s.name, s.partitions, replication_factor, topic_configs=dict(s.configs))
                for s in todo.create
            ]
        )
        for name, code, *rest in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                message = rest[0] if rest else ""
                raise ProvisionError(f"creating topic {name}: {for_code(code).__name__} {message}")
        await wait_for_leaders(admin, {s.name: s.partitions for s in todo.create})
        for spec in todo.create:
            logger.info("topic %s created (%d partitions)", spec.name, spec.partitions)
    if todo.grow:
        response = await admin.create_partitions(
            {s.name: NewPartitions(s.partitions) for s in todo.grow}
        )
        for name, code, message in response.topic_errors:
            if code:
                raise ProvisionError(
                    f"adding partitions to {name}: {for_code(code).__name__} {message}"
                )
        await wait_for_leaders(admin, {s.name: s.partitions for s in todo.grow})
        for spec in todo.grow:
            logger.info("topic %s grown to %d partitions", spec.name, spec.partitions)
    for drift in todo.drift:
        logger.warning("topic drift: %s", drift)
    return todo


async def wait_for_leaders(
    admin: AIOKafkaAdminClient, partitions_of: Mapping[str, int], timeout_s: float = 30.0
) -> None:
    """Wait until each topic shows its expected partition count, each with a leader: creating
    or growing returns before the metadata has propagated, and an adapter starting then would
    see too few partitions (its camera offline) or get NotLeader errors."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    pending = set(partitions_of)
    while pending:
        for topic in await admin.describe_topics(sorted(pending)):
            partitions = topic["partitions"]
            if (
                topic["error_code"] == 0
                and len(partitions) >= partitions_of[topic["topic"]]
                and all(p["leader"] >= 0 for p in partitions)
            ):
                pending.discard(topic["topic"])
        if not pending:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise ProvisionError(
                f"topics short of partitions or leaders after {timeout_s:.0f} s: {sorted(pending)}"
            )
        await asyncio.sleep(0.1)


def ensure_buckets(client: Minio, buckets: Iterable[str], object_lock: bool = True) -> list[str]:
    """Create the missing buckets, each encrypted at rest; returns those created. Object lock
    can only be enabled at creation (it also turns on versioning), so archive buckets get it
    from the start."""
    created: list[str] = []
    for bucket in buckets:
        if client.bucket_exists(bucket):
            continue
        client.make_bucket(bucket, object_lock=object_lock)
        logger.info("bucket %s created (object lock %s)", bucket, "on" if object_lock else "off")
        created.append(bucket)
    for bucket in buckets:
        # Encrypted at rest by the server (SSE-S3, MinIO's KMS): idempotent.
        client.set_bucket_encryption(bucket, SSEConfig(SSERule.new_sse_s3_rule()))
    return created


# --------------------------------------------------------------------------- archive buckets


def archive_lifecycle(retention_days: int) -> LifecycleConfig:
    """Expiry of an archive bucket after ``retention_days`` (the operator's legal retention).

    Archive buckets are versioned (object lock), where expiring the current version only adds
    a delete marker and keeps the data: the rule also expires noncurrent versions one day after
    they stop being current, and a second rule removes the delete markers left with no version
    behind them. The current version expires after ``retention_days - 1`` days so that its data
    is gone after ``retention_days`` at the latest. Versions under legal hold are never expired.
    """
    if retention_days < 1:
        raise ValueError(f"retention of {retention_days} days: must be at least 1")
    return LifecycleConfig(
        [
            Rule(
                ENABLED,
                rule_filter=Filter(prefix=""),
                rule_id="vigie-retention",
                expiration=Expiration(days=max(1, retention_days - 1)),
                noncurrent_version_expiration=NoncurrentVersionExpiration(noncurrent_days=1),
            ),
            Rule(
                ENABLED,
                rule_filter=Filter(prefix=""),
                rule_id="vigie-expired-delete-markers",
                expiration=Expiration(expired_object_delete_marker=True),
            ),
        ]
    )


def set_archive_retention(client: Minio, bucket: str, retention_days: int) -> None:
    """Every new object version of an archive bucket locked in COMPLIANCE mode for the legal
    period (nobody, root included, deletes or shortens it; an overwrite leaves the locked
    version), and the lifecycle rules of :func:`archive_lifecycle` that remove it right after.
    An evidence hold keeps it longer. Idempotent."""
    client.set_object_lock_config(bucket, ObjectLockConfig(COMPLIANCE, retention_days, DAYS))
    client.set_bucket_lifecycle(bucket, archive_lifecycle(retention_days))
    logger.info(
        "bucket %s: COMPLIANCE retention and lifecycle expiry after %d days", bucket, retention_days
    )


def operator_policy_name(operator: str) -> str:
    return f"vigie-archive-read-{operator}"


def operator_policy(operator: str) -> dict[str, Any]:
    """IAM policy of an operator's user: list and read its own archive bucket, nothing else
    (no writes, no deletes: the archiver writes, retention deletes)."""
    bucket = archive_bucket(operator)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


ARCHIVE_OBJECTS = "arn:aws:s3:::archive-*/*"
ARCHIVE_BUCKETS = "arn:aws:s3:::archive-*"
_LIST = ["s3:ListBucket", "s3:GetBucketLocation"]


def _archive_policy(object_actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": _LIST, "Resource": [ARCHIVE_BUCKETS]},
            {"Effect": "Allow", "Action": object_actions, "Resource": [ARCHIVE_OBJECTS]},
        ],
    }


def _auditor_policy() -> dict[str, Any]:
    """The audit archiver: list the audit bucket and put objects into it with their COMPLIANCE
    retention; no read, no delete, no bucket change. Retention can only be lengthened in
    COMPLIANCE mode, so nothing it may do shortens what is locked."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{AUDIT_BUCKET}"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:PutObjectRetention"],
                "Resource": [f"arn:aws:s3:::{AUDIT_BUCKET}/*"],
            },
        ],
    }


def _evidence_policy() -> dict[str, Any]:
    """Places and lifts evidence holds: reads the manifests (which chunks a window holds),
    never an image, and deletes nothing."""
    # The tags name each holder: a release lifts the flag only when no other holder is left.
    policy = _archive_policy(
        ["s3:GetObjectLegalHold", "s3:PutObjectLegalHold", "s3:GetObjectTagging",
         "s3:PutObjectTagging"]
    )  # fmt: skip
    manifests = [f"arn:aws:s3:::archive-*/*.{MANIFEST_EXT}"]
    policy["Statement"].append(
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": manifests}
    )
    return policy


SERVICE_POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    # Puts chunks and manifests, reads them back (a replay checks what is stored); no delete,
    # no retention, lifecycle or policy change: evidence cannot be removed by its writer.
    MINIO_ARCHIVER: ("vigie-archive-write", _archive_policy(["s3:PutObject", "s3:GetObject"])),
    # Reads another operator's archive for a requester, only after the grant check.
    MINIO_RETRIEVAL: ("vigie-archive-retrieve", _archive_policy(["s3:GetObject"])),
    # Places and lifts evidence holds: reads the manifests (which chunks a window holds), never
    # an image, and deletes nothing.
    MINIO_EVIDENCE: ("vigie-archive-hold", _evidence_policy()),
    MINIO_AUDITOR: ("vigie-audit-append", _auditor_policy()),
}
"""The MinIO users of Vigie's services and their IAM policies: each may do its one job on the
buckets and nothing else (root is for provisioning only)."""


def ensure_service_user(admin: MinioAdmin, state_dir: Path, name: str) -> MinioUser:
    """Create (or refresh) the MinIO user of service `name` (``SERVICE_POLICIES``) and its
    policy; idempotent. Its secret is generated once into the state folder (0600)."""
    policy_name, policy = SERVICE_POLICIES[name]
    user = load_minio_user(state_dir, name)
    if user is None:
        user = MinioUser(access_key=name, secret_key=secrets.token_urlsafe(30))
        save_minio_user(state_dir, name, user)
    admin.policy_add(policy_name, policy=policy)
    admin.user_add(user.access_key, user.secret_key)
    try:
        admin.attach_policy([policy_name], user=user.access_key)
    except MinioAdminException as exc:
        if "PolicyChangeAlreadyApplied" not in str(exc):
            raise
    return user


def ensure_operator_user(admin: MinioAdmin, state_dir: Path, operator: str) -> OperatorCredentials:
    """Create (or refresh) the operator's MinIO user and policy; idempotent.

    The secret is generated once and kept in the state folder (mode 0600), like the root
    credentials, never in the repository."""
    creds = load_operator_credentials(state_dir, operator)
    if creds is None:
        creds = OperatorCredentials(
            operator=operator,
            access_key=f"vigie-{operator}",
            secret_key=secrets.token_urlsafe(30),
        )
        save_operator_credentials(state_dir, creds)
    policy = operator_policy_name(operator)
    admin.policy_add(policy, policy=operator_policy(operator))
    admin.user_add(creds.access_key, creds.secret_key)
    try:
        admin.attach_policy([policy], user=creds.access_key)
    except MinioAdminException as exc:
        if "PolicyChangeAlreadyApplied" not in str(exc):
            raise
    logger.info("MinIO user %s reads %s only", creds.access_key, archive_bucket(operator))
    return creds

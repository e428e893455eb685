"""`vigie audit archive`: the audit trail copied write-once to the object-locked bucket;
`vigie audit verify --archive` checks the copy and the topic against it."""

from __future__ import annotations

import asyncio

import pytest
from minio import Minio
from minio.error import S3Error

from infra.provision import ensure_buckets
from runtime.connection import Connection
from schemas.storage import AUDIT_BUCKET
from tests.integration.audit_support import append_sealed
from tests.integration.policy_world import vigie
from vigie.provisioning import provision_operator_topics


async def test_archive_is_incremental_write_once_and_verifies(
    live_stack: Connection, kafka_bootstrap: str, minio_client: Minio
) -> None:
    await provision_operator_topics(kafka_bootstrap, [])
    await asyncio.to_thread(ensure_buckets, minio_client, [AUDIT_BUCKET])
    await append_sealed(kafka_bootstrap, 3)

    first = await asyncio.to_thread(vigie, "audit", "archive")
    assert first.returncode == 0, first.stderr
    assert "(write-once)" in first.stdout
    second = await asyncio.to_thread(vigie, "audit", "archive")
    assert second.returncode == 0, second.stderr
    assert "audit archive up to date" in second.stdout

    verified = await asyncio.to_thread(vigie, "audit", "verify", "--archive")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "BROKEN" not in verified.stdout

    key = next(
        o.object_name for o in minio_client.list_objects(AUDIT_BUCKET, prefix="p0/", recursive=True)
    )
    assert key is not None
    # Even MinIO's root user cannot delete an archived segment before its retention ends.
    versions = list(minio_client.list_objects(AUDIT_BUCKET, prefix=key, include_version=True))
    with pytest.raises(S3Error) as refused:
        minio_client.remove_object(AUDIT_BUCKET, key, version_id=versions[0].version_id)
    assert "WORM protected" in str(refused.value.message)

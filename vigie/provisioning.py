"""`vigie topics provision` and `vigie provision`: topics, buckets and the camera registry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from infra import provision, security
from infra.local.settings import Connection, StackSettings
from runtime import connection, kafka_clients
from runtime.identity import kafka_auth
from schemas.codec import CAMERA
from schemas.config import Camera as CameraConfig
from schemas.config import VigieConfig, load
from schemas.placement import placement
from schemas.records import Camera, SourceKind
from schemas.storage import AUDIT_BUCKET, archive_bucket
from schemas.topics import CAMERAS, ProvisionPlan, catalogue

logger = logging.getLogger(__name__)


def registry_record(camera: CameraConfig, at: datetime) -> Camera:
    """The registry entry of a configured camera: everything but the source URL."""
    return Camera(
        camera_id=camera.id,
        operator=camera.operator,
        name=camera.name,
        latitude=camera.position.lat,
        longitude=camera.position.lon,
        zone=camera.zone,
        tags=tuple(camera.tags),
        profile=camera.profile,
        source_kind=SourceKind(camera.source_kind.upper()),
        active=True,
        updated_at=at,
    )


async def provision_operator_topics(
    bootstrap: str, operators: Iterable[str], frame_partitions: Mapping[str, int] | None = None
) -> ProvisionPlan:
    """The catalogue's topics for these operators (and the shared ones), created if missing
    (frames topics grown to `frame_partitions`, one per camera), and the operators' principals
    with the ACLs they need (added; nobody else's removed)."""
    operators = list(operators)
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        specs = catalogue(operators, frame_partitions=frame_partitions)
        todo = await provision.provision_topics(admin, specs)
    finally:
        await admin.close()
    await asyncio.to_thread(
        security.apply,
        bootstrap,
        kafka_auth(),
        connection.state_dir(),
        operators,
        prune=False,
    )
    return todo


async def provision_topics(bootstrap: str, config: VigieConfig) -> ProvisionPlan:
    counts = placement(config.cameras).partition_counts()
    operators = [o.id for o in config.operators]
    # An operator without cameras still gets a frames topic (one partition).
    return await provision_operator_topics(
        bootstrap, operators, {o: counts.get(o, 1) for o in operators}
    )


async def publish_registry(bootstrap: str, config: VigieConfig) -> int:
    producer = kafka_clients.producer(bootstrap, client_id="vigie-provision")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for camera in config.cameras:
            await producer.send(
                CAMERAS, key=camera.id.encode(), value=CAMERA.encode(registry_record(camera, now))
            )
        await producer.flush()
    finally:
        await producer.stop()
    return len(config.cameras)


def report(todo: ProvisionPlan) -> None:
    print(
        f"topics: {len(todo.create)} created, {len(todo.unchanged)} unchanged, "
        f"{len(todo.drift)} drifted"
    )
    for spec in todo.create:
        print(f"  + {spec.name} ({spec.partitions} partitions)")
    for spec in todo.grow:
        print(f"  ^ {spec.name} grown to {spec.partitions} partitions (a partition per camera)")
    for drift in todo.drift:
        print(f"  ! {drift}")


async def provision_topics_command(config_path: Path, strict: bool) -> int:
    config = load(config_path)
    todo = await provision_topics(connection.load().kafka_bootstrap, config)
    report(todo)
    return 1 if strict and todo.drift else 0


def apply_security(config: VigieConfig, *, dry_run: bool = False) -> security.SecurityPlan:
    """The Kafka principals and ACLs of `config` (as the admin), the difference printed."""
    conn = connection.load()
    todo = security.apply(
        conn.kafka_bootstrap,
        kafka_auth(),
        connection.state_dir(),
        (o.id for o in config.operators),
        dry_run=dry_run,
    )
    verb = "would " if dry_run else ""
    for user in todo.new_users:
        print(f"  + principal {user} ({verb}generate its credentials into the state folder)")
    for acl in todo.create:
        print(f"  + {acl}")
    for acl in todo.delete:
        print(f"  - {acl}")
    print(
        f"security: {len(todo.new_users)} new principals, {len(todo.create)} ACLs {verb}added,"
        f" {len(todo.delete)} {verb}removed"
    )
    return todo


async def provision_all_command(config_path: Path) -> int:
    config = load(config_path)
    conn = connection.load()
    report(await provision_topics(conn.kafka_bootstrap, config))
    await asyncio.to_thread(apply_security, config)
    buckets = [archive_bucket(o.id) for o in config.operators] + [AUDIT_BUCKET]
    created = await asyncio.to_thread(
        provision.ensure_buckets, connection.minio_client(conn), buckets
    )
    print(f"buckets: {len(created)} created, {len(buckets) - len(created)} already there")
    users = await asyncio.to_thread(provision_archives, conn, config)
    print(f"archives: retention set on {users} buckets, {users} operator users (read own bucket)")
    cameras = await publish_registry(conn.kafka_bootstrap, config)
    print(f"camera registry: {cameras} cameras published on {CAMERAS}")
    return 0


def provision_archives(conn: Connection, config: VigieConfig) -> int:
    """Each operator's archive retention (bucket lifecycle) and its own MinIO user; the
    users' credentials go to the state folder (mode 0600)."""
    client = connection.minio_client(conn)
    admin = connection.minio_admin(conn)
    state_dir = StackSettings.from_env().state_dir
    for service in provision.SERVICE_POLICIES:
        provision.ensure_service_user(admin, state_dir, service)
    for operator in config.operators:
        provision.set_archive_retention(
            client, archive_bucket(operator.id), operator.retention_days
        )
        provision.ensure_operator_user(admin, state_dir, operator.id)
    return len(config.operators)

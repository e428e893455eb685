"""The Kafka clients of every Vigie process, built one way.

- One size limit: every producer may send, and every consumer fetch, a frame of
  ``schemas.topics.MAX_FRAME_BYTES`` plus ``SIZE_MARGIN`` for the Avro envelope, headers and
  batch overhead (the broker and the frame topics are configured for the same maximum). Size
  limits that disagree stall a consumer on the first large frame.
- Producers are idempotent (acks=all, no duplicate on retry) with batches sized for frames
  (aiokafka's 16 KiB default sends each frame alone).
- Every client backs off between connection attempts (``runtime.reconnect``): a broker outage
  costs a few log lines and no CPU spin.
- Every client authenticates (SASL/SCRAM-SHA-512 over TLS, the CA of the connection settings) as
  the principal this process acts as (``runtime.identity``): the broker decides what it may do.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context

from runtime.identity import KafkaAuth, kafka_auth
from runtime.reconnect import with_backoff
from schemas.topics import MAX_FRAME_BYTES

__all__ = [
    "BATCH_BYTES",
    "SIZE_LIMIT",
    "SIZE_MARGIN",
    "admin",
    "consumer",
    "librdkafka_frame_consumer",
    "librdkafka_producer",
    "librdkafka_security",
    "producer",
    "security",
]

SIZE_MARGIN = 1024 * 1024
SIZE_LIMIT = MAX_FRAME_BYTES + SIZE_MARGIN
"""The largest request a producer sends and the most a consumer fetches per partition."""
BATCH_BYTES = 1024 * 1024
"""Producer batch size: many frames per request, as kafka-baseline measures the clients."""


MECHANISM = "SCRAM-SHA-512"


def security(auth: KafkaAuth | None = None) -> dict[str, Any]:
    """aiokafka's settings to authenticate as `auth` (default: this process's principal)."""
    auth = auth or kafka_auth()
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": auth.username,
        "sasl_plain_password": auth.password,
        "ssl_context": create_ssl_context(cafile=str(auth.ca_file)),
    }


def librdkafka_security(auth: KafkaAuth | None = None) -> dict[str, str]:
    """The same for librdkafka (confluent-kafka) clients."""
    auth = auth or kafka_auth()
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": MECHANISM,
        "sasl.username": auth.username,
        "sasl.password": auth.password,
        "ssl.ca.location": str(auth.ca_file),
    }


def librdkafka_producer(bootstrap: str, client_id: str) -> dict[str, Any]:
    """The settings of a librdkafka (confluent-kafka) producer of frames (pure; no security,
    see ``librdkafka_security``): idempotent, batches sized for frames, requests capped at the
    frame limit, and keys hashed with Kafka's own murmur2 like every other client (librdkafka's
    default, CRC32, puts a key on another partition than aiokafka or Java clients do)."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "enable.idempotence": True,
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "batch.size": BATCH_BYTES,
        "message.max.bytes": SIZE_LIMIT,
    }


def librdkafka_frame_consumer(
    bootstrap: str, group_id: str, client_id: str, partition_fetch_bytes: int = SIZE_LIMIT
) -> dict[str, Any]:
    """The settings of a librdkafka (confluent-kafka) consumer of frames (pure; no security,
    see ``librdkafka_security``): offsets stored and committed by the caller only, fetches
    sized for frames (`partition_fetch_bytes` per partition; a larger frame still comes,
    alone), and no idle second after a full local queue (librdkafka's default backoff: a
    reader of a backlog would mostly wait)."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "max.partition.fetch.bytes": partition_fetch_bytes,
        "fetch.max.bytes": 4 * SIZE_LIMIT,
        "message.max.bytes": SIZE_LIMIT,  # must not exceed fetch.max.bytes
        "receive.message.max.bytes": 4 * SIZE_LIMIT + 64 * 1024,
        "fetch.queue.backoff.ms": 20,
    }


def admin(
    bootstrap: str, *, client_id: str = "vigie-admin-client", auth: KafkaAuth | None = None
) -> AIOKafkaAdminClient:
    """An admin client (topic metadata and configs; what it may change is the principal's)."""
    made: AIOKafkaAdminClient = with_backoff(
        AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, **security(auth))
    )
    return made


def producer(
    bootstrap: str, *, client_id: str, auth: KafkaAuth | None = None, **overrides: Any
) -> AIOKafkaProducer:
    """An idempotent producer that sends frames in batches (not started), authenticated as
    `auth` (default: this process's principal)."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "enable_idempotence": True,
        "max_request_size": SIZE_LIMIT,
        "max_batch_size": BATCH_BYTES,
        "linger_ms": 2,
        **security(auth),
    }
    settings.update(overrides)
    made: AIOKafkaProducer = with_backoff(AIOKafkaProducer(**settings))
    return made


def consumer(
    bootstrap: str,
    *topics: str,
    client_id: str,
    group_id: str | None,
    auth: KafkaAuth | None = None,
    **overrides: Any,
) -> AIOKafkaConsumer:
    """A consumer that commits only when told (not started), authenticated as `auth`
    (default: this process's principal)."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": SIZE_LIMIT,
        "fetch_max_bytes": 4 * SIZE_LIMIT,
        **security(auth),
    }
    settings.update(overrides)
    made: AIOKafkaConsumer = with_backoff(AIOKafkaConsumer(*topics, **settings))
    return made

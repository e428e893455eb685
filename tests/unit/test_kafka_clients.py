"""How every Vigie process builds its Kafka clients (pure parts)."""

from __future__ import annotations

from runtime import kafka_clients


def test_a_producer_to_many_partitions_keeps_its_requests_under_the_brokers_limit() -> None:
    """One batch per partition travels in one request: with a partition per camera the batch
    shrinks so that every partition's full batch still fits (the broker closes a connection
    whose request is over 100 MiB, and aiokafka would resend it forever)."""
    assert kafka_clients.batch_bytes(6) == kafka_clients.BATCH_BYTES
    for partitions in (24, 240, 1000):
        assert partitions * kafka_clients.batch_bytes(partitions) <= kafka_clients.REQUEST_BUDGET
    assert kafka_clients.REQUEST_BUDGET < 100 * 1024 * 1024
    assert kafka_clients.batch_bytes(100_000) == kafka_clients.MIN_BATCH_BYTES

"""How the camera publisher's Kafka client is configured (pure)."""

from __future__ import annotations

from producers.publisher import DELIVERY_TIMEOUT_S, producer_config
from runtime import kafka_clients


def test_the_publisher_caps_its_requests_and_holds_a_bounded_queue() -> None:
    """Each request stays under the broker's limit whatever the number of partitions (with a
    partition per camera, aiokafka's uncapped requests reached 155 MB and were refused forever);
    frames wait in a bounded queue while Kafka is away and are given up after the delivery
    timeout (a live view wants new frames); idempotent, frames up to the topics' limit."""
    config = producer_config("127.0.0.1:9092", "cams")
    assert config["message.max.bytes"] == kafka_clients.SIZE_LIMIT < 100 * 1024 * 1024
    assert config["queue.buffering.max.kbytes"] <= 1024 * 1024
    assert config["message.timeout.ms"] == DELIVERY_TIMEOUT_S * 1000
    assert config["enable.idempotence"] is True
    assert config["partitioner"] == "murmur2_random"  # a key lands where other clients put it

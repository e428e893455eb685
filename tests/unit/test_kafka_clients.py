"""How the Kafka clients of frames are configured (pure)."""

from __future__ import annotations

from producers.publisher import DELIVERY_TIMEOUT_S, producer_config
from runtime import kafka_clients
from schemas.topics import MAX_FRAME_BYTES


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


def test_a_frame_consumer_takes_the_largest_frame_and_commits_only_what_it_is_told() -> None:
    """A frame up to the topics' limit is fetched (librdkafka refuses a configuration whose
    fetch or receive sizes are below its message size); nothing is committed behind the
    caller's back (the relay and the archiver commit only what is acknowledged or stored)."""
    config = kafka_clients.librdkafka_frame_consumer("127.0.0.1:9092", "g", "c", 512 * 1024)
    assert config["message.max.bytes"] >= MAX_FRAME_BYTES
    assert config["fetch.max.bytes"] >= config["message.max.bytes"]
    assert config["receive.message.max.bytes"] > config["fetch.max.bytes"]
    assert config["max.partition.fetch.bytes"] == 512 * 1024
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False

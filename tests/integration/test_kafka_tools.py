"""`vigie kafka <tool>` runs each of Kafka's tools against the test stack: the wrapper gives each
tool the stack's address the way that tool takes it (producer-perf-test has no
--bootstrap-server, kafka-cluster wants it after its subcommand, kafka-storage needs none)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka.admin import NewTopic

from infra.local.kafka import TOOLS
from runtime import kafka_clients
from tests.builders import kafka_producer
from vigie.provisioning import provision_operator_topics

pytestmark = pytest.mark.integration

RECORDS = 20


def _vigie_kafka(
    tool: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", "kafka", tool, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        check=False,
    )


async def _topic_with_records(bootstrap: str, topic: str) -> None:
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    async with kafka_producer(bootstrap, client_id="test-kafka-tools") as producer:
        for i in range(RECORDS):
            await producer.send_and_wait(topic, f"record {i}".encode())


@pytest.fixture(scope="module")
def topic(kafka_bootstrap: str) -> str:
    name = f"kafka-tools-{uuid.uuid4().hex[:8]}"
    asyncio.run(_topic_with_records(kafka_bootstrap, name))
    # An operator provisioned as `vigie provision` does: its principals' ACLs exist to list.
    asyncio.run(provision_operator_topics(kafka_bootstrap, [f"tools-{uuid.uuid4().hex[:6]}"]))
    return name


# tool -> trivial arguments; {topic} is a topic holding records, {offsets} a delete-records file.
CASES: dict[str, list[str]] = {
    "topics": ["--describe", "--topic", "{topic}"],
    "consumer-groups": ["--list"],
    "groups": ["--list"],
    "console-producer": ["--topic", "{topic}"],
    "console-consumer": [
        *["--topic", "{topic}", "--from-beginning"],
        *["--max-messages", "2", "--timeout-ms", "60000"],
    ],
    "producer-perf-test": [
        *["--topic", "{topic}", "--num-records", "200"],
        *["--record-size", "1000", "--throughput", "-1"],
    ],
    "consumer-perf-test": ["--topic", "{topic}", "--messages", "10", "--timeout", "60000"],
    "configs": ["--describe", "--entity-type", "topics", "--entity-name", "{topic}"],
    "acls": ["--list"],
    "get-offsets": ["--topic", "{topic}"],
    "delete-records": ["--offset-json-file", "{offsets}"],
    "log-dirs": ["--describe", "--topic-list", "{topic}"],
    "reassign-partitions": ["--list"],
    "leader-election": ["--election-type", "preferred", "--topic", "{topic}", "--partition", "0"],
    "transactions": ["list"],
    "broker-api-versions": [],
    "features": ["describe"],
    "metadata-quorum": ["describe", "--status"],
    "cluster": ["cluster-id"],
    "storage": ["random-uuid"],
}
STDIN = {"console-producer": "one\ntwo\n"}


def test_every_tool_of_the_wrapper_is_exercised() -> None:
    assert set(CASES) == set(TOOLS)


@pytest.mark.parametrize("tool", sorted(CASES))
def test_tool_runs_against_the_stack(tool: str, topic: str, tmp_path: Path) -> None:
    offsets = tmp_path / "offsets.json"
    offsets.write_text(
        json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "offset": 1}]})
    )
    args = [a.format(topic=topic, offsets=offsets) for a in CASES[tool]]
    result = _vigie_kafka(tool, *args, stdin=STDIN.get(tool))
    output = result.stdout[-2000:] + result.stderr[-3000:]
    assert "unrecognized" not in output.lower()
    assert result.returncode == 0, f"{tool}: {output}"
    if tool == "acls":
        # The broker's authorizer answers with the ACLs `vigie security apply` wrote.
        assert "principal=User:vigie-policy," in result.stdout, output


@pytest.mark.parametrize(
    "props", [["--producer-props", "acks=all", "linger.ms=1"], ["--producer-props=acks=all"]]
)
def test_producer_perf_test_keeps_the_users_producer_props(topic: str, props: list[str]) -> None:
    result = _vigie_kafka(
        "producer-perf-test",
        *["--topic", topic, "--num-records", "50", "--record-size", "100", "--throughput", "-1"],
        *props,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "50 records sent" in result.stdout


def test_a_users_own_bootstrap_server_is_not_doubled(kafka_bootstrap: str, topic: str) -> None:
    result = _vigie_kafka("topics", "--bootstrap-server", kafka_bootstrap, "--list")
    assert result.returncode == 0, result.stderr[-3000:]
    assert topic in result.stdout.split()

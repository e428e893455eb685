"""The local stack as operations teams use it: idempotent start, health, Kafka's own tools."""

from __future__ import annotations

import os
import subprocess
import sys

from infra.local import stack
from infra.local.settings import Connection, StackSettings


def test_second_up_is_a_no_op_keeping_the_running_services(
    live_stack: Connection, stack_settings: StackSettings
) -> None:
    """`vigie stack up` twice must not start a second broker or lose the first."""
    before = {s.name: s.pid for s in stack.status(stack_settings)}
    again = stack.up(stack_settings)
    after = {s.name: s.pid for s in stack.status(stack_settings)}
    assert again == live_stack
    assert before == after
    assert all(pid is not None for pid in after.values())


def test_status_reports_both_services_answering(
    live_stack: Connection, stack_settings: StackSettings
) -> None:
    statuses = {s.name: s for s in stack.status(stack_settings)}
    assert set(statuses) == {"kafka", "minio"}
    assert statuses["kafka"].answers
    assert statuses["minio"].answers
    assert statuses["kafka"].address == live_stack.kafka_bootstrap


def test_kafka_own_topic_tool_runs_from_the_same_jars(live_stack: Connection) -> None:
    """Operations teams use kafka-topics & co: `vigie kafka topics` runs the real tool."""
    result = subprocess.run(
        [sys.executable, "-m", "vigie", "kafka", "topics", "--describe", "--topic", "__none__"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        check=False,
    )
    # The real TopicCommand answers that the topic does not exist (and so talked to the broker).
    assert "__none__" in result.stdout + result.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "vigie", "kafka", "metadata-quorum", "describe", "--status"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        check=True,
    )
    assert "LeaderId" in listing.stdout

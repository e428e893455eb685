"""A camera adapter process survives a Kafka outage without flooding its log, and publishes
again when Kafka is back.

Measured before the fix: 4 adapters each wrote ~110,000 ERROR lines during a 27 s outage
(aiokafka's metadata task retrying without pause). This test takes Kafka away for real: a
second, private Kafka started with the project's stack code (its own state folder and free
ports), stopped the way `vigie stack down` stops it (SIGTERM, controlled shutdown), started
again. The shared test stack (.state/test) is not touched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from infra.local import kafka
from infra.local.settings import StackSettings
from runtime import kafka_clients
from schemas.codec import FRAME
from schemas.topics import frames_topic
from tests.builders import eventually_sync
from vigie.provisioning import provision_operator_topics

CAMERAS = 3
PROFILE_FPS = 5
OUTAGE_S = 15
MAX_OUTAGE_LINES = 30  # ~4 kinds of error, one line each per 10 s; the flood was ~13,000 a second


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_answers(settings: StackSettings, timeout_s: float = 120) -> None:
    eventually_sync(
        lambda: asyncio.run(kafka.answers(settings)),
        timeout_s,
        interval_s=0.5,
        message=f"private Kafka did not answer: {settings.logs_dir / 'kafka.log'}",
    )


@pytest.fixture
def private_kafka(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StackSettings]:
    """A Kafka of this test's own, stopped afterwards by its pid file (never the shared one).
    This test's own clients reach it as its admin (its state folder, its CA)."""
    state = tmp_path_factory.mktemp("private-kafka")
    settings = StackSettings.from_env(
        {
            **os.environ,
            "VIGIE_STATE_DIR": str(state),
            "VIGIE_KAFKA_PORT": str(_free_port()),
            "VIGIE_KAFKA_CONTROLLER_PORT": str(_free_port()),
        }
    )
    assert settings.state_dir == state.resolve()
    kafka.start(settings)
    monkeypatch.setenv("VIGIE_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("VIGIE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("VIGIE_MINIO_ENDPOINT", "127.0.0.1:9")  # not used here
    monkeypatch.setenv("VIGIE_KAFKA_CA", str(settings.state_dir / "tls" / "ca.crt"))
    monkeypatch.setenv("VIGIE_PRINCIPAL", "vigie-admin")
    try:
        _wait_until_answers(settings)
        yield settings
    finally:
        kafka.process(settings).stop()


@dataclass
class Adapter:
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


@pytest.fixture
def adapter(private_kafka: StackSettings, tmp_path: Path) -> Iterator[tuple[Adapter, str]]:
    op = f"op-{uuid.uuid4().hex[:8]}"
    asyncio.run(provision_operator_topics(private_kafka.kafka_bootstrap, [op]))
    config = {
        "region": "Test",
        "operators": [{"id": op, "name": "Test", "kind": "police"}],
        "profiles": [{"name": "small", "width": 320, "height": 180, "max_fps": PROFILE_FPS}],
        "cameras": [
            {
                "id": f"synthetic-{i}",
                "operator": op,
                "name": f"synthetic {i}",
                "position": {"lat": 50.85, "lon": 4.35},
                "zone": "test",
                "source_kind": "synthetic",
                "source": "synthetic://square",
                "profile": "small",
            }
            for i in range(CAMERAS)
        ],
    }
    config_path = tmp_path / "cameras.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "VIGIE_STATE_DIR": str(private_kafka.state_dir),
        "VIGIE_KAFKA_BOOTSTRAP": private_kafka.kafka_bootstrap,
        "VIGIE_MINIO_ENDPOINT": "127.0.0.1:9",  # not used by the adapters
    }
    env.pop("VIGIE_DEBUG", None)
    log = tmp_path / "adapter.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vigie",
                "cameras",
                "run",
                "--config",
                str(config_path),
                "--operator",
                op,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Adapter(process, log), op
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def _published_since(bootstrap: str, op: str, since: datetime, timeout_s: float) -> bool:
    """Whether a frame captured after `since` reaches the operator's topic within timeout_s
    (the adapter keeps publishing: the topic is read until such a frame, not to its end)."""
    consumer = kafka_clients.consumer(
        bootstrap,
        frames_topic(op),
        client_id="test-outage",
        group_id=None,
        auto_offset_reset="earliest",
    )
    deadline = time.monotonic() + timeout_s
    await consumer.start()
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    assert r.value is not None
                    if FRAME.decode(r.value).capture_time > since:
                        return True
    finally:
        await consumer.stop()
    return False


def test_an_adapter_logs_a_few_lines_during_a_kafka_outage_and_publishes_after_it(
    private_kafka: StackSettings, adapter: tuple[Adapter, str]
) -> None:
    proc, op = adapter
    bootstrap = private_kafka.kafka_bootstrap
    started = datetime.now(UTC)
    published = asyncio.run(_published_since(bootstrap, op, started, timeout_s=60))
    assert published, "\n".join(proc.lines())
    time.sleep(3)  # publishing steadily when Kafka goes

    before = len(proc.lines())
    assert kafka.process(private_kafka).stop()  # SIGTERM: the broker's controlled shutdown
    time.sleep(OUTAGE_S)
    during = proc.lines()[before:]
    assert proc.process.poll() is None, "the adapter must survive a Kafka outage"
    assert during, "the outage went unnoticed: nothing logged"
    assert len(during) <= MAX_OUTAGE_LINES, "\n".join(during[:60])
    # Repeated errors were aggregated, not merely absent.
    assert any("more like this suppressed" in line for line in during), "\n".join(during)

    back = datetime.now(UTC)
    kafka.start(private_kafka)
    _wait_until_answers(private_kafka)
    recovered = asyncio.run(_published_since(bootstrap, op, back, timeout_s=30))
    assert recovered, "no frame captured after the outage was published"
    assert proc.process.poll() is None

    proc.process.send_signal(signal.SIGTERM)
    assert proc.process.wait(60) == 0, "\n".join(proc.lines()[-40:])
    after = proc.lines()[before + len(during) :]
    assert len(after) <= MAX_OUTAGE_LINES, "\n".join(after[:60])

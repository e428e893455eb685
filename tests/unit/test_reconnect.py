"""aiokafka clients back off when a broker refuses connections instead of retrying in a loop.

The last tests run aiokafka's own metadata task against a port that refuses connections (no
broker, nothing mocked): without the backoff it logs thousands of errors a second, as measured
in the demo; with it a handful.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import time
from collections.abc import AsyncIterator, Hashable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata

from runtime.reconnect import NodeBackoff, backoff_get_conn, with_backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def test_the_wait_doubles_from_the_initial_backoff_up_to_the_maximum() -> None:
    clock = FakeClock()
    backoff = NodeBackoff(initial_s=0.1, max_s=1.0, clock=clock)
    assert backoff.wait_s(1) == 0
    waits = []
    for _ in range(7):
        backoff.failed(1)
        waits.append(round(backoff.wait_s(1), 3))
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    clock.now += 0.6
    assert backoff.wait_s(1) == pytest.approx(0.4)
    assert backoff.wait_s(2) == 0  # per node
    clock.now += 5
    assert backoff.wait_s(1) == 0
    backoff.succeeded(1)
    backoff.failed(1)
    assert backoff.wait_s(1) == pytest.approx(0.1)  # a success starts over
    assert backoff.delay_after(10_000) == 1.0


class RefusingNode:
    """Stands for aiokafka's _get_conn against a node that refuses: None, at once."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.attempts: list[float] = []
        self.up = False

    async def __call__(self, node_id: Hashable, **kwargs: Any) -> object | None:
        self.attempts.append(self.clock.now)
        return object() if self.up else None


async def test_callers_in_a_busy_loop_make_one_attempt_per_backoff_interval() -> None:
    clock = FakeClock()
    node = RefusingNode(clock)
    get_conn = backoff_get_conn(
        node, NodeBackoff(clock=clock), lambda _n, _g: False, sleep=clock.sleep
    )
    start = clock.now

    async def busy(caller: int) -> None:
        # What aiokafka's sender and metadata task do while a leader is unknown.
        while clock.now - start < 30:
            await get_conn(1, group=caller)
            await asyncio.sleep(0)

    await asyncio.gather(busy(0), busy(1), busy(2))
    # 0, 0.1, 0.3, 0.7, 1.5, then one a second: about 34 in 30 s (without: unbounded).
    assert 30 <= len(node.attempts) <= 36
    gaps = [b - a for a, b in zip(node.attempts, node.attempts[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-9
    assert max(gaps) <= 1.0 + 1e-9

    node.up = True
    clock.now += 1.0
    before = len(node.attempts)
    assert await get_conn(1) is not None  # the broker is back: connected on the next attempt
    assert await get_conn(1) is not None  # and no wait afterwards
    assert len(node.attempts) == before + 2


async def test_a_connected_node_is_not_delayed() -> None:
    clock = FakeClock()
    node = RefusingNode(clock)
    backoff = NodeBackoff(clock=clock)
    backoff.failed(1)
    get_conn = backoff_get_conn(node, backoff, lambda _n, _g: True, sleep=clock.sleep)
    await get_conn(1)
    assert node.attempts == [50.0]


def test_the_pinned_aiokafka_has_what_the_backoff_wraps() -> None:
    """An aiokafka upgrade that renames or changes these fails here, not in production."""
    params = inspect.signature(AIOKafkaClient._get_conn).parameters
    assert list(params)[:2] == ["self", "node_id"]
    assert params["group"].kind is inspect.Parameter.KEYWORD_ONLY
    assert inspect.iscoroutinefunction(AIOKafkaClient._get_conn)


async def test_with_backoff_applies_to_every_kind_of_aiokafka_client() -> None:
    bootstrap = "127.0.0.1:1"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    try:
        for owner, inner in [
            (producer, producer.client),
            (consumer, consumer._client),
            (admin, admin._client),
            (client, client),
        ]:
            assert with_backoff(owner) is owner
            assert "_get_conn" in vars(inner), type(owner).__name__
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()
        await client.close()


def test_an_unknown_object_is_left_alone_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    thing = object()
    with caplog.at_level(logging.WARNING, logger="runtime.reconnect"):
        assert with_backoff(thing) is thing
    assert "no reconnect backoff" in caplog.text


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def aiokafka_errors() -> Iterator[Count]:
    counter = Count()
    log = logging.getLogger("aiokafka")
    level = log.level
    log.setLevel(logging.WARNING)  # as runtime.logs sets it, whatever an earlier test did
    log.addHandler(counter)
    try:
        yield counter
    finally:
        log.removeHandler(counter)
        log.setLevel(level)


@contextlib.asynccontextmanager
async def metadata_task(client: AIOKafkaClient, port: int) -> AsyncIterator[None]:
    # The cluster a client knows before its first metadata answer: the bootstrap address.
    client.cluster = ClusterMetadata(bootstrap_servers=f"127.0.0.1:{port}")
    task = asyncio.create_task(client._md_synchronizer())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


async def spin(client: AIOKafkaClient, seconds: float) -> None:
    """The producer sender's loop while a partition has no leader: refresh, wait, again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client.force_metadata_update()


async def test_without_backoff_a_refused_broker_floods_the_log(
    refused_port: int, aiokafka_errors: Count
) -> None:
    """The cause, shown on aiokafka as it is: the metadata task retries without pausing."""
    client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{refused_port}")
    async with metadata_task(client, refused_port):
        await spin(client, 1.0)
    assert len(aiokafka_errors.messages) > 500, len(aiokafka_errors.messages)


async def test_with_backoff_a_refused_broker_gives_a_few_lines(
    refused_port: int, aiokafka_errors: Count
) -> None:
    client = with_backoff(AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{refused_port}"))
    async with metadata_task(client, refused_port):
        await spin(client, 3.0)
    # Attempts at 0, 0.1, 0.3, 0.7, 1.5, 2.5 s; two lines each.
    assert 8 <= len(aiokafka_errors.messages) <= 14, aiokafka_errors.messages
    assert any("Unable connect to node" in m for m in aiokafka_errors.messages)
    assert any("Unable to update metadata" in m for m in aiokafka_errors.messages)

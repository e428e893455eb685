"""Reconnect backoff for aiokafka clients: a broker that is down is retried at most once per
backoff interval (0.1 s, doubling up to 1 s), like the Java client's reconnect.backoff.ms /
reconnect.backoff.max.ms and librdkafka's reconnect.backoff.ms.

Why it is needed (aiokafka 0.14): the client has no reconnect backoff at all, and no setting
gives it one. When a broker goes away while a client believes a partition has no leader (a
broker in controlled shutdown answers metadata with leader -1 for every partition it led), the
producer's sender and the consumer's fetcher loop on ``client.force_metadata_update()`` with no
pause: the metadata task tries to connect, is refused within microseconds (connection refused on
the same host), logs ``Unable connect to node with id 1`` and ``Unable to update metadata from
[1]`` and resolves the future the sender waits on, which asks again at once: over 10,000
ERROR lines a second per client (and a busy core), for as long as the broker is down.
``retry_backoff_ms`` is not applied on that path and ``metadata_max_age_ms`` only sets the
periodic refresh.

The backoff is applied where every connection attempt goes through, ``AIOKafkaClient._get_conn``
(metadata refresh, produce, fetch, coordinator). It is a private method: ``with_backoff`` checks
that it is there, and tests/unit/test_reconnect.py pins it for the aiokafka in constraints.txt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient, ConnectionGroup

logger = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 0.1
MAX_BACKOFF_S = 1.0


@dataclass
class _Failures:
    count: int
    last_at: float


@dataclass
class NodeBackoff:
    """When the next connection attempt to each node may be made (pure; the clock is injected).

    After n consecutive failed attempts the next one waits initial_s * 2**(n-1), at most max_s,
    from the last failure. A success forgets the node's failures.
    """

    initial_s: float = INITIAL_BACKOFF_S
    max_s: float = MAX_BACKOFF_S
    clock: Callable[[], float] = time.monotonic
    _failures: dict[Hashable, _Failures] = field(default_factory=dict)

    def delay_after(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        # min() on the exponent first: 2**failures would overflow float after ~1000 failures.
        return min(self.max_s, self.initial_s * 2.0 ** min(failures - 1, 64))

    def wait_s(self, node: Hashable) -> float:
        """Seconds to wait before the next attempt to this node (0: try now)."""
        failures = self._failures.get(node)
        if failures is None:
            return 0.0
        due = failures.last_at + self.delay_after(failures.count)
        return max(0.0, due - self.clock())

    def failed(self, node: Hashable) -> None:
        previous = self._failures.get(node)
        self._failures[node] = _Failures((previous.count if previous else 0) + 1, self.clock())

    def succeeded(self, node: Hashable) -> None:
        self._failures.pop(node, None)

    def failures(self, node: Hashable) -> int:
        failures = self._failures.get(node)
        return failures.count if failures else 0


GetConn = Callable[..., Awaitable[Any]]


def backoff_get_conn(
    get_conn: GetConn,
    backoff: NodeBackoff,
    is_connected: Callable[[Hashable, Any], bool],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> GetConn:
    """Wrap a client's ``_get_conn(node_id, *, group=..., ...)`` (None when it cannot connect):
    an attempt to a node whose last attempt failed first waits out the backoff, and concurrent
    callers for one node make one attempt per interval between them, not one each."""
    locks: dict[Hashable, asyncio.Lock] = {}

    async def get_conn_with_backoff(node_id: Hashable, **kwargs: Any) -> Any:
        if is_connected(node_id, kwargs.get("group")):
            return await get_conn(node_id, **kwargs)
        lock = locks.setdefault(node_id, asyncio.Lock())
        async with lock:
            while (wait := backoff.wait_s(node_id)) > 0:
                await sleep(wait)
            conn = await get_conn(node_id, **kwargs)
            if conn is None:
                backoff.failed(node_id)
            else:
                backoff.succeeded(node_id)
            return conn

    return get_conn_with_backoff


def _client_of(owner: object) -> AIOKafkaClient | None:
    if isinstance(owner, AIOKafkaClient):
        return owner
    if isinstance(owner, AIOKafkaProducer):
        return owner.client
    if isinstance(owner, AIOKafkaConsumer | AIOKafkaAdminClient):
        return getattr(owner, "_client", None)
    return None


KafkaClientT = TypeVar("KafkaClientT")


def with_backoff(owner: KafkaClientT, backoff: NodeBackoff | None = None) -> KafkaClientT:
    """Give an aiokafka producer, consumer, admin client or client a reconnect backoff (before
    it is started); returns it, so that ``with_backoff(AIOKafkaProducer(...))`` reads well.

    If this aiokafka lacks what the backoff wraps, the client is left as it is, with a warning:
    a changed library must not stop a camera (the unit tests fail on such an upgrade)."""
    client = _client_of(owner)
    get_conn = getattr(client, "_get_conn", None)
    if client is None or get_conn is None or not isinstance(getattr(client, "_conns", None), dict):
        logger.warning(
            "no reconnect backoff for %s: not an aiokafka client this module knows; a broker "
            "outage may log thousands of connection errors a second",
            type(owner).__name__,
        )
        return owner

    def is_connected(node_id: Hashable, group: Any) -> bool:
        key = (node_id, ConnectionGroup.DEFAULT if group is None else group)
        conn = client._conns.get(key)
        return conn is not None and bool(conn.connected())

    wrapped = backoff_get_conn(get_conn, backoff or NodeBackoff(), is_connected)
    client._get_conn = wrapped
    return owner

"""The live router: frames of granted cameras to ``shared.<grantee>``, reading only those.

Its cost follows what is shared, not the size of the fleet: each camera has a partition of its
own (``schemas.placement``), and the router assigns itself only the partitions of cameras with
a live grant (``streams.routing.wanted_sources``), re-deciding on every change of the grant
index. A camera no longer granted is dropped at once; a newly granted one is read from the
grant's start (or from where the router group stopped, if later: ``start_offset``), so a grant
seen late or a worker restarted leaves no gap. Every frame read is still decided by ``route``
from its headers and the grants in force (fail closed, deny by default); a frame whose headers
are bad, contradict its topic or sit on another camera's partition goes to ``dead-letter``.

Several workers share the cameras through slots: the workers form a consumer group on the
``grants`` topic (one member per worker, used for its membership only, never read), and a
worker reads the cameras whose ``slot_of`` is one of the partitions the group gave it. A worker
that dies loses its slots to the others, which start where it last committed (the commits of
all routers go to one group, ``<group>-offsets``; each camera has one reader at a time).

The hot path is ``streams.relay`` (a thread on librdkafka); this module is the event loop's
side: membership, the wanted set, and telling the relay what to add and drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping

from aiokafka import ConsumerRebalanceListener, TopicPartition

from runtime import kafka_clients
from runtime.topic_reader import partitions_of
from schemas.placement import Placement
from schemas.topics import GRANTS
from streams.policy import GrantIndex
from streams.relay import Relay, RelayStats
from streams.routing import Routed, Source, route, wanted_sources

__all__ = ["Router"]

logger = logging.getLogger(__name__)

RECHECK_S = 1.0
"""How often the wanted set is re-decided without a grant change (a slot moved, a grant's time
came)."""
RELEASE_TIMEOUT_S = 5.0
"""The longest a revocation waits for the relay to commit where its cameras stopped (frames in
flight acknowledged first: well under a second here); past it the slots go anyway (logged).
Under the group's rebalance timeout (aiokafka: the session timeout, 10 s), past which the
broker would drop this member from the group."""


class _Slots(ConsumerRebalanceListener):  # type: ignore[misc]
    """The slots (partitions of ``grants``) the group gives this worker; never fetched."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # The group's rebalance waits for this: the slots' next owner starts only after the
        # cameras this worker read are committed where it stopped.
        await self._router.release()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._router.pause(assigned)
        self._router.held_slots(frozenset(tp.partition for tp in assigned))


class Router:
    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        index: GrantIndex,
        index_ready: asyncio.Event,
        placement: Placement,
        owners: Mapping[str, str] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._index = index
        self._index_ready = index_ready
        self._placement = placement
        self._owners: Mapping[str, str] = owners or {}
        self._held: frozenset[int] = frozenset()
        self._slot_count = 0
        """Partitions of ``grants`` (known once running)."""
        self._relaying = False
        self._reading: frozenset[Source] = frozenset()
        self._changed = asyncio.Event()
        self._unplaced_said: set[str] = set()
        self._membership = kafka_clients.consumer(
            bootstrap,
            group_id=group_id,
            client_id=f"{group_id}-slots",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        self._relay = Relay(bootstrap, f"{group_id}-offsets", f"{group_id}-relay", self._decide)

    @property
    def stats(self) -> RelayStats:
        return self._relay.stats

    def grants_changed(self) -> None:
        """The grant index changed: decide again what to read."""
        self._changed.set()

    def held_slots(self, slots: frozenset[int]) -> None:
        self._held = slots
        logger.info("router slots assigned: %s", ",".join(map(str, sorted(slots))) or "none")
        self._changed.set()

    async def release(self, timeout_s: float = RELEASE_TIMEOUT_S) -> None:
        """Give up every slot: stop reading their cameras and wait until the relay has
        committed where each stopped (its frames in flight acknowledged). A worker taking a
        slot over then starts after the last frame this one forwarded: nothing repeated, and
        never two producers on one camera. An eager rebalance drops every slot, including
        those this worker gets back: they are read again from the commit."""
        self.held_slots(frozenset())
        if not self._relaying:
            return  # not started, or stopping: the relay commits at its stop
        self._reassign()
        stats = self._relay.stats
        deadline = time.monotonic() + timeout_s
        while stats.assigned or stats.retiring or self._relay.changes_pending():
            if time.monotonic() >= deadline or not self._relaying:
                logger.warning(
                    "router: slots given up before %d cameras were committed (%.0f s)",
                    stats.assigned + stats.retiring,
                    timeout_s,
                )
                return
            await asyncio.sleep(0.01)

    def pause(self, partitions: set[TopicPartition]) -> None:
        self._membership.pause(*partitions)

    def _decide(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
        now_us: int,
    ) -> Routed:
        return route(
            topic,
            key,
            headers,
            self._index,
            now_us,
            self._owners,
            partition=partition,
            placement=self._placement,
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self._index_ready.wait()  # fail closed: read nothing before the grants
        self._slot_count = len(await partitions_of(self._bootstrap, GRANTS))
        stopping = threading.Event()
        self._membership.subscribe([GRANTS], listener=_Slots(self))
        await self._membership.start()
        relay = asyncio.create_task(asyncio.to_thread(self._relay.run, stopping))
        self._relaying = True
        logger.info("router started (grant index ready, %d grants)", len(self._index))
        try:
            while not stop.is_set() and not relay.done():
                self._reassign()
                # Keeps the membership alive (aiokafka leaves the group of a consumer that
                # stops polling); its partitions are paused, so nothing is fetched.
                await self._membership.getmany(timeout_ms=0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), RECHECK_S)
                self._changed.clear()
        finally:
            self._relaying = False
            stopping.set()
            with contextlib.suppress(asyncio.CancelledError):
                await relay  # raises RelayFailed if forwarding failed: the worker restarts us
            await self._membership.stop()

    def _reassign(self) -> None:
        wanted = wanted_sources(self._index, self._placement, self._held, self._slot_count)
        for camera_id in self._index.cameras():
            if self._placement.source(camera_id) is None and camera_id not in self._unplaced_said:
                self._unplaced_said.add(camera_id)
                logger.warning("camera %s is granted but not placed: it cannot be read", camera_id)
        add = {s: at for s, at in wanted.items() if s not in self._reading}
        remove = self._reading - wanted.keys()
        if add or remove:
            self._relay.reassign(add, remove)
            self._reading = frozenset(wanted)

"""The room's running parts: one picture per operator (fed as that operator), the grants in
force (read as the room, for the archive grant check), the writer, and the MinIO clients of
each role. Started and stopped with the web service (its lifespan)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiokafka import ConsumerRecord
from minio import Minio

from consumers.room.feeds import follow_operator
from consumers.room.picture import OperatorPicture
from consumers.room.writer import RoomUnavailable, RoomWriter
from runtime.connection import Connection, as_minio_service, minio_client
from runtime.credentials import load_operator_credentials
from runtime.identity import kafka_auth_for
from runtime.topic_reader import follow_topics
from schemas.codec import GRANT, DecodeError
from schemas.config import VigieConfig
from schemas.errors import VigieError
from schemas.records import Grant
from schemas.security import MINIO_EVIDENCE, MINIO_RETRIEVAL, operator_principal
from schemas.topics import GRANTS

__all__ = ["Room"]

logger = logging.getLogger(__name__)


@dataclass
class Room:
    config: VigieConfig
    connection: Connection
    state_dir: Path
    pictures: dict[str, OperatorPicture] = field(init=False)
    grants: dict[str, Grant] = field(init=False, default_factory=dict)
    writer: RoomWriter = field(init=False)
    _stop: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _caught_up: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.pictures = {
            o.id: OperatorPicture(o.id, grants=self._grants_now) for o in self.config.operators
        }
        self.writer = RoomWriter(self.connection.kafka_bootstrap)

    def _grants_now(self) -> Iterable[Grant]:
        # A view, not a copy: every live stream asks many times a second.
        return self.grants.values()

    def picture(self, operator: str) -> OperatorPicture:
        """What `operator`'s users may see; RoomUnavailable (503) until the room has read
        Kafka's state, rather than a refusal it cannot yet justify."""
        self.require_ready()
        picture = self.pictures.get(operator)
        if picture is None:  # a user of an operator the configuration no longer has
            raise VigieError(f"operator {operator} is not in the configuration")
        return picture

    # ------------------------------------------------------------------ MinIO, per role

    def own_archive(self, operator: str) -> Minio:
        """The operator's own MinIO user: it reads its bucket and nothing else."""
        creds = load_operator_credentials(self.state_dir, operator)
        if creds is None:
            raise VigieError(f"operator {operator} has no MinIO user yet: run `vigie provision`")
        return minio_client(
            replace(
                self.connection,
                minio_access_key=creds.access_key,
                minio_secret_key=creds.secret_key,
            )
        )

    def retrieval_archive(self) -> Minio:
        """Reads another operator's archive: only after the grant check."""
        return minio_client(as_minio_service(self.connection, MINIO_RETRIEVAL))

    def evidence_archive(self) -> Minio:
        return minio_client(as_minio_service(self.connection, MINIO_EVIDENCE))

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Start following Kafka in the background: the web service answers at once, and
        while Kafka cannot be reached, what needs it is refused (503), never faked."""
        self._tasks.append(asyncio.create_task(self._forever("writer", self._run_writer)))
        for operator, picture in self.pictures.items():
            feed = functools.partial(self._follow, picture)
            self._tasks.append(asyncio.create_task(self._forever(f"feed of {operator}", feed)))
        grants = functools.partial(self._follow_grants, self._stop)
        self._tasks.append(asyncio.create_task(self._forever("grants", grants)))

    async def _run_writer(self) -> None:
        await self.writer.start()
        await self._stop.wait()

    async def _follow(self, picture: OperatorPicture) -> None:
        auth = kafka_auth_for(operator_principal(picture.operator))
        await follow_operator(
            picture,
            self.connection.kafka_bootstrap,
            auth,
            self._stop,
            caught_up=lambda: self._caught_up.add(picture.operator),
        )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.writer.stop()

    async def _forever(self, name: str, follow: Callable[[], Awaitable[None]]) -> None:
        """Run a feed until stopped; restart it after a failure (a broker outage)."""
        while not self._stop.is_set():
            try:
                await follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s failed; restarting in 2 s", name)
                await asyncio.sleep(2.0)

    async def _follow_grants(self, stop: asyncio.Event) -> None:
        def handle(r: ConsumerRecord[bytes, bytes]) -> None:
            grant_id = (r.key or b"").decode(errors="replace")
            if r.value is None:  # a tombstone
                self.grants.pop(grant_id, None)
                return
            try:
                self.grants[grant_id] = GRANT.decode(r.value)
            except DecodeError as exc:
                logger.warning("grants@%d undecodable: %s", r.offset, exc.reason)

        await follow_topics(
            self.connection.kafka_bootstrap,
            [GRANTS],
            handle,
            stop,
            caught_up=lambda: self._caught_up.add(GRANTS),
        )

    # ------------------------------------------------------------------ readiness

    @property
    def ready(self) -> bool:
        """Whether the grants and every operator's history have been read up to where they
        stood at the start: before that, an answer from this state could be a false refusal."""
        return self._caught_up >= {GRANTS, *self.pictures}

    def require_ready(self) -> None:
        if not self.ready:
            raise RoomUnavailable("the room is still reading Kafka's state; try again shortly")

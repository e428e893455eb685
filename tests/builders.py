"""Builders and waiting helpers shared by the tests: a frame, a started producer made by the
project's own factory, and polling until a condition holds.

Two ways to wait, with a sync twin each (for tests that run outside an event loop):

- `eventually` fails the test with a clear message when the condition does not hold in time;
- `poll` returns the last value at the deadline instead, for a test whose own assertion on that
  value says more than a timeout would (which frames are missing, which events arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from aiokafka import AIOKafkaProducer

from runtime import kafka_clients
from schemas.records import Frame, FrameEncoding

T = TypeVar("T")

SMALL_JPEG = b"\xff\xd8" + bytes(200) + b"\xff\xd9"
"""A JPEG's start and end markers around a few hundred bytes: enough for code that routes or
shows frames without decoding them (use real images where the archive decodes them)."""


def frame(
    operator: str,
    camera: str,
    sequence: int = 0,
    *,
    at: datetime | None = None,
    image: bytes = SMALL_JPEG,
    width: int = 320,
    height: int = 180,
    privacy_masked: bool = False,
) -> Frame:
    """A JPEG frame of `operator`'s `camera`, captured `at` (now if not given)."""
    return Frame(
        camera_id=camera,
        operator=operator,
        capture_time=at if at is not None else datetime.now(UTC),
        sequence=sequence,
        width=width,
        height=height,
        encoding=FrameEncoding.JPEG,
        image=image,
        privacy_masked=privacy_masked,
    )


@contextlib.asynccontextmanager
async def kafka_producer(
    bootstrap: str, *, client_id: str, **overrides: Any
) -> AsyncIterator[AIOKafkaProducer]:
    """The producer every Vigie process uses (`runtime.kafka_clients.producer`: idempotent,
    the project's size limit), started for the block and stopped after it."""
    producer = kafka_clients.producer(bootstrap, client_id=client_id, **overrides)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def _describe(message: str | Callable[[], str]) -> str:
    return message if isinstance(message, str) else message()


@overload
async def poll(
    check: Callable[[], Awaitable[T]],
    timeout_s: float,
    *,
    interval_s: float,
    until: Callable[[T], bool] | None = None,
) -> T: ...


@overload
async def poll(
    check: Callable[[], T],
    timeout_s: float,
    *,
    interval_s: float,
    until: Callable[[T], bool] | None = None,
) -> T: ...


async def poll(
    check: Callable[[], Any],
    timeout_s: float,
    *,
    interval_s: float,
    until: Callable[[Any], bool] | None = None,
) -> Any:
    """Call `check` (a function or a coroutine function) every `interval_s` until its value is
    true (or satisfies `until`) or `timeout_s` has passed; the last value either way."""
    done = until or bool
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if done(value) or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval_s)


@overload
async def eventually(
    check: Callable[[], Awaitable[T]],
    timeout_s: float,
    *,
    interval_s: float,
    message: str | Callable[[], str],
    until: Callable[[T], bool] | None = None,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T],
    timeout_s: float,
    *,
    interval_s: float,
    message: str | Callable[[], str],
    until: Callable[[T], bool] | None = None,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    timeout_s: float,
    *,
    interval_s: float,
    message: str | Callable[[], str],
    until: Callable[[Any], bool] | None = None,
) -> Any:
    """The value of `check` once it holds, polled as `poll` does; fails the test with `message`
    (a function is called only then, e.g. to show a log's end) if it does not in `timeout_s`."""
    value = await poll(check, timeout_s, interval_s=interval_s, until=until)
    if not (until or bool)(value):
        raise AssertionError(f"{_describe(message)} (waited {timeout_s:g} s)")
    return value


def poll_sync(
    check: Callable[[], T],
    timeout_s: float,
    *,
    interval_s: float,
    until: Callable[[T], bool] | None = None,
) -> T:
    """`poll` outside an event loop: sleeps between the calls of `check`."""
    done = until or bool
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def eventually_sync(
    check: Callable[[], T],
    timeout_s: float,
    *,
    interval_s: float,
    message: str | Callable[[], str],
    until: Callable[[T], bool] | None = None,
) -> T:
    """`eventually` outside an event loop."""
    value = poll_sync(check, timeout_s, interval_s=interval_s, until=until)
    if not (until or bool)(value):
        raise AssertionError(f"{_describe(message)} (waited {timeout_s:g} s)")
    return value

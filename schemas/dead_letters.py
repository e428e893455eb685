"""The one way to turn a message a stage could not handle into a DeadLetter record: the message
kept whole (key, value, headers, where it came from) with the stage and the reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.records import DeadLetter


def _headers(
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None] | None,
) -> dict[str, bytes]:
    # aiokafka gives a sequence of pairs, others a mapping; a null header value becomes b"".
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return {name: value or b"" for name, value in pairs}


def dead_letter_for(message: Any, *, stage: str, error_kind: str, reason: str) -> DeadLetter:
    """A DeadLetter for a consumed message (anything with topic, partition, offset, key, value
    and headers, such as an aiokafka ConsumerRecord)."""
    return DeadLetter(
        time=datetime.now(UTC),
        stage=stage,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        key=message.key,
        value=message.value or b"",
        headers=_headers(message.headers),
        error_kind=error_kind,
        reason=reason,
    )

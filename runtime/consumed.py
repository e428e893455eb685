"""A consumed Kafka record as plain data, for the librdkafka edges (whose messages are method
objects): what ``schemas.dead_letters.dead_letter_for`` and the stages read of a record."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConsumedRecord"]


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One Kafka record, with the attributes ``schemas.dead_letters.dead_letter_for`` reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

"""Sending a dead letter: the message a stage could not handle, kept whole with the reason, on
`dead-letter` (key: the topic it came from). One way for every Kafka stage."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.codec import DEAD_LETTER
from schemas.dead_letters import dead_letter_for
from schemas.topics import DEAD_LETTER as DEAD_LETTER_TOPIC

__all__ = ["send_dead_letter"]


async def send_dead_letter(
    producer: AIOKafkaProducer, message: Any, *, stage: str, error_kind: str, reason: str
) -> asyncio.Future[Any]:
    """Queue the dead letter of `message` (a consumed record); returns its acknowledgement."""
    letter = dead_letter_for(message, stage=stage, error_kind=error_kind, reason=reason)
    ack: asyncio.Future[Any] = await producer.send(
        DEAD_LETTER_TOPIC, key=letter.source_topic.encode(), value=DEAD_LETTER.encode(letter)
    )
    return ack

"""Removing a benchmark's own topics from the stack it ran on (as the admin)."""

from __future__ import annotations

from collections.abc import Iterable

from runtime import kafka_clients

__all__ = ["delete_operator_topics"]


async def delete_operator_topics(bootstrap: str, operators: Iterable[str]) -> None:
    """Delete every ``<kind>.<operator>`` topic of these operators: a benchmark stores GBs of
    frames in them, which would otherwise pile up in the dev stack run after run."""
    suffixes = tuple(f".{operator}" for operator in operators)
    admin = kafka_clients.admin(bootstrap)
    await admin.start()
    try:
        existing = await admin.list_topics()
        doomed = [topic for topic in existing if topic.endswith(suffixes)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()

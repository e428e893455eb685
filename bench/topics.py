"""A benchmark's own topics on the stack it runs on (as the admin): stamped by the broker,
then removed."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import (  # type: ignore[attr-defined]  # the package has no __all__
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)

from runtime import kafka_clients

__all__ = ["delete_operator_topics", "stamped_on_append"]


def stamped_on_append(bootstrap: str, topics: Iterable[str]) -> None:
    """Have the broker stamp each record of these topics with its own clock when it writes it
    (LogAppendTime): a benchmark then reads when a record landed, not when its reader got it.
    Incremental, so that the topics' other settings stay."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **kafka_clients.librdkafka_security()})
    stamp = ConfigEntry(
        "message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET
    )
    changes = [ConfigResource("topic", t, incremental_configs=[stamp]) for t in topics]
    for done in admin.incremental_alter_configs(changes).values():
        done.result()


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

"""The policy worker's Faust application: settings and the app, its agents installed.

One process runs one worker (`vigie policy worker`); workers with the same app id form one
consumer group and share the partitions of `incident-commands`, `audit-drafts` and `frames.*`.
Processing is at-least-once with agent concurrency 1 (faust-streaming #606) and every effect is
idempotent (see streams/agents.py). Tables live in memory and recover from their changelog
topics, which Faust creates itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faust

from schemas.config import VigieConfig
from schemas.topics import MAX_FRAME_BYTES, Sizing
from streams.incidents import DEFAULT_GRACE_S

__all__ = ["DEFAULT_APP_ID", "PolicySettings", "create_app"]

DEFAULT_APP_ID = "vigie-policy"


@dataclass(frozen=True)
class PolicySettings:
    config: VigieConfig
    bootstrap: str
    app_id: str = DEFAULT_APP_ID
    grace_s: float = DEFAULT_GRACE_S
    """How long a camera left behind by a moving incident stays granted."""
    tick_interval_s: float = 1.0
    """How often grace periods and expiries are checked: revocations are this late at most."""
    web_port: int | None = None
    """Faust's web server (statistics, health) on this port; None: off."""
    replication_factor: int = 1
    """Of the topics Faust creates (changelogs); 3 on a cluster."""
    sizing: Sizing = field(default_factory=Sizing)


def create_app(settings: PolicySettings) -> faust.App:
    from streams.agents import PolicyWorker  # agents need the app; the app does not need them

    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        autodiscover=False,
        processing_guarantee="at_least_once",
        topic_replication_factor=settings.replication_factor,
        topic_partitions=settings.sizing.control_partitions,
        table_standby_replicas=0,
        web_enabled=settings.web_port is not None,
        web_port=settings.web_port or 6066,
        consumer_max_fetch_size=MAX_FRAME_BYTES + 1024 * 1024,
        producer_max_request_size=MAX_FRAME_BYTES + 1024 * 1024,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # A worker that dies without leaving the group is replaced after this many seconds.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
    )
    PolicyWorker(app, settings)
    return app

"""The router's decisions, pure: where one frame goes, and which cameras a router reads.

- ``route``: one frame message, from its headers alone (never the image), deny by default;
- ``wanted_sources``: the partitions a router assigns itself — those of the cameras with a live
  grant whose slot this worker holds, each with the earliest time it must be read from;
- ``start_offset``: where reading such a partition starts, gap-free and without replaying.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from schemas.headers import FrameRouting, HeaderError, parse_frame_headers
from schemas.placement import Placement, foreign_camera
from schemas.topics import operator_of
from streams.policy import GrantIndex, recipients

__all__ = [
    "CATCH_UP_LAG",
    "Routed",
    "Source",
    "catching_up",
    "misrouted",
    "route",
    "slot_of",
    "start_offset",
    "wanted_sources",
]

Source = tuple[str, int]
"""(topic, partition) of a frames topic: one camera's frames."""


@dataclass(frozen=True, slots=True)
class Routed:
    """What to do with one frame message: forward to these grantees, or dead-letter it."""

    grantees: frozenset[str]
    problem: str | None = None


def misrouted(
    topic: str,
    partition: int | None,
    key: bytes | None,
    routing: FrameRouting,
    owners: Mapping[str, str],
    placement: Placement | None = None,
) -> str | None:
    """Why a frame's headers contradict where it was published, or whose camera it is, if they
    do (pure). `owners` maps the configured cameras to their operators: an operator that
    publishes a frame under another operator's camera id is refused, not merely not shared; a
    frame outside its camera's partition is refused too (a router reading that camera would
    never see it)."""
    foreign = foreign_camera(routing.camera_id, topic, owners)
    if foreign is not None:
        return foreign
    if operator_of(topic) != routing.operator:
        return (
            f"header vigie-operator says {routing.operator!r} but the frame was published on"
            f" {topic}"
        )
    if key is not None and key != routing.camera_id.encode():
        return f"header vigie-camera says {routing.camera_id!r} but the message key is {key!r}"
    placed = placement.partition(routing.camera_id) if placement is not None else None
    if partition is not None and placed is not None and placed != partition:
        return (
            f"camera {routing.camera_id!r} writes to partition {placed} of {topic}, this frame"
            f" was published on partition {partition}"
        )
    return None


def route(
    topic: str,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    index: GrantIndex,
    now_us: int,
    owners: Mapping[str, str] | None = None,
    *,
    partition: int | None = None,
    placement: Placement | None = None,
) -> Routed:
    """The routing of one frame message (pure): headers only, deny by default."""
    try:
        routing = parse_frame_headers(headers)
    except HeaderError as exc:
        return Routed(frozenset(), str(exc))
    problem = misrouted(topic, partition, key, routing, owners or {}, placement)
    if problem is not None:
        return Routed(frozenset(), problem)
    return Routed(recipients(routing, index, now_us))


def slot_of(source: Source, slots: int) -> int:
    """Which of the routers' `slots` reads `source` (stable across processes and restarts):
    each worker holds some slots (``streams.router``), so each camera has one reader."""
    topic, partition = source
    return zlib.crc32(f"{topic}/{partition}".encode()) % slots


def wanted_sources(
    index: GrantIndex, placement: Placement, held: Collection[int], slots: int
) -> dict[Source, int]:
    """The partitions this router must read -> the earliest grant start on each (epoch µs).

    A camera is read while it has an active live grant (one that starts later included, so
    its first frame is not late); one whose grants are all gone is dropped. Nothing is read
    before the grant index has recovered (fail closed). A granted camera missing from the
    placement cannot be read (its frames' partition is unknown): it is left out, and the
    caller says so."""
    if not index.ready:
        return {}
    wanted: dict[Source, int] = {}
    for camera_id in index.cameras():
        source = placement.source(camera_id)
        if source is None or slot_of(source, slots) not in held:
            continue
        grants = index.live_grants(camera_id).values()
        if grants:
            wanted[source] = min(g.valid_from_us for g in grants)
    return wanted


CATCH_UP_LAG = 100
"""Frames behind its end beyond which a newly assigned partition is read on the relay's
catch-up lane (20 s of a 5 fps camera, 4 s at 25 fps)."""


def catching_up(start: int, end: int) -> bool:
    """Whether a partition read from `start` is a backlog to catch up on (pure): read apart, so
    the live cameras' frames do not wait behind it."""
    return end - start > CATCH_UP_LAG


def start_offset(committed: int | None, from_time: int | None, end: int) -> int:
    """Where a newly assigned camera partition is read from (pure).

    `from_time`: the first offset at or after the grant's start (None: no frame since, so the
    end); `committed`: how far this router group forwarded before (None: never). The later of
    the two: frames since the grant began are all checked (gap-free: a grant seen late, or a
    worker restarted, still forwards them), and none already forwarded is sent again."""
    begin = end if from_time is None else from_time
    if committed is not None and committed > begin:
        return min(committed, end)
    return begin

"""Where each camera's frames go: one partition of ``frames.<operator>`` per camera (pure).

One camera per partition is what lets a router read only the cameras it shares (it assigns
itself their partitions) instead of every frame of the fleet. The configuration may pin a
camera's partition (``Camera.partition``); the others take the lowest free partitions of their
operator in file order, so cameras appended to the file never move the ones before them. The
frames topic of an operator has as many partitions as its highest placement needs; adding
cameras grows it (safe: every frame is written to its camera's partition explicitly, never by
hashing the key over the partition count).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.config import Camera
from schemas.topics import frames_topic, operator_of

__all__ = ["Placement", "foreign_camera", "placement", "unreachable"]


@dataclass(frozen=True)
class Placement:
    """Camera id -> (operator, partition of ``frames.<operator>``)."""

    slots: Mapping[str, tuple[str, int]]

    def partition(self, camera_id: str) -> int | None:
        slot = self.slots.get(camera_id)
        return None if slot is None else slot[1]

    def source(self, camera_id: str) -> tuple[str, int] | None:
        """The (topic, partition) a camera's frames are written to, if it is placed."""
        slot = self.slots.get(camera_id)
        return None if slot is None else (frames_topic(slot[0]), slot[1])

    def partition_counts(self) -> dict[str, int]:
        """Operator -> partitions its frames topic needs (the highest placement + 1)."""
        counts: dict[str, int] = {}
        for operator, partition in self.slots.values():
            counts[operator] = max(counts.get(operator, 1), partition + 1)
        return counts


def placement(cameras: Iterable[Camera]) -> Placement:
    """Pinned cameras keep their partition; the others take the lowest free ones of their
    operator, in order (pinned duplicates are refused by the configuration's validation)."""
    cameras = list(cameras)
    taken: dict[str, set[int]] = {}
    slots: dict[str, tuple[str, int]] = {}
    for camera in cameras:
        if camera.partition is not None:
            taken.setdefault(camera.operator, set()).add(camera.partition)
            slots[camera.id] = (camera.operator, camera.partition)
    next_free: dict[str, int] = {}
    for camera in cameras:
        if camera.partition is not None:
            continue
        used = taken.setdefault(camera.operator, set())
        candidate = next_free.get(camera.operator, 0)
        while candidate in used:
            candidate += 1
        used.add(candidate)
        next_free[camera.operator] = candidate + 1
        slots[camera.id] = (camera.operator, candidate)
    return Placement(slots)


def unreachable(placed: Placement, partitions: Mapping[str, int]) -> dict[str, str]:
    """Camera id -> why it cannot publish: its partition is beyond its frames topic's
    partition count (`partitions`, by topic: the topic was not provisioned since the camera was
    added). A camera whose topic is not in `partitions` is not judged here."""
    problems: dict[str, str] = {}
    for camera_id, (operator, partition) in placed.slots.items():
        topic = frames_topic(operator)
        count = partitions.get(topic)
        if count is not None and partition >= count:
            problems[camera_id] = (
                f"its partition {partition} of {topic} does not exist (the topic has {count}):"
                " run `vigie provision` to add a partition per camera"
            )
    return problems


def foreign_camera(camera_id: str, topic: str, owners: Mapping[str, str]) -> str | None:
    """Why a frame of `camera_id` may not be on `topic`, if the camera belongs to another
    operator than the topic's (`owners`: the configured cameras' operators; a camera the
    configuration does not know is judged by its topic alone). Pure; the router and the
    archiver both refuse such a frame."""
    owner = owners.get(camera_id)
    if owner is None or owner == operator_of(topic):
        return None
    return f"camera {camera_id!r} belongs to {owner!r}, not to the publisher of {topic}"

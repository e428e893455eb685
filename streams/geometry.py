"""Grant geometry, pure: distances, bearings, cameras near a point, the next cameras ahead.

Positions are WGS 84 latitude/longitude in degrees. Distances use the haversine formula on a
sphere of the mean Earth radius: over the few kilometres of an incident radius its error
(< 0.5 %) is far below the accuracy of a reported suspect position. Bearings are initial great
circle bearings in degrees clockwise from north, in [0, 360).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping

from schemas.config import Camera, CameraLink, Position

__all__ = [
    "AHEAD_MAX_ANGLE_DEG",
    "EARTH_RADIUS_M",
    "MIN_MOVE_M",
    "adjacency",
    "angle_between_deg",
    "bearing_deg",
    "cameras_within",
    "distance_m",
    "next_cameras",
    "travel_bearing",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), in metres."""

MIN_MOVE_M = 5.0
"""Below this displacement a position update says nothing about the direction of travel."""

AHEAD_MAX_ANGLE_DEG = 60.0
"""A neighbour is ahead when its bearing is within this angle of the direction of travel."""


def distance_m(a: Position, b: Position) -> float:
    """Great circle distance between two positions, in metres (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Position, b: Position) -> float:
    """Initial bearing from `a` towards `b`, degrees clockwise from north in [0, 360).

    0 for identical positions (there is no direction; callers check the distance first).
    """
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    y = math.sin(dlon) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    bearing = math.degrees(math.atan2(y, x)) % 360.0
    # A tiny negative angle modulo 360 rounds to 360.0 itself.
    return 0.0 if bearing >= 360.0 else bearing


def angle_between_deg(first: float, second: float) -> float:
    """Smallest angle between two bearings, in [0, 180]."""
    diff = abs(first - second) % 360.0
    return min(diff, 360.0 - diff)


def travel_bearing(
    previous: Position | None, new: Position, min_move_m: float = MIN_MOVE_M
) -> float | None:
    """Direction of travel from two successive positions; None when it is unknown.

    Unknown when there is no previous position or the move is shorter than `min_move_m`
    (GPS jitter of a stationary suspect must not point anywhere).
    """
    if previous is None or distance_m(previous, new) < min_move_m:
        return None
    return bearing_deg(previous, new)


def cameras_within(cameras: Iterable[Camera], centre: Position, radius_m: float) -> list[Camera]:
    """The cameras at most `radius_m` metres from `centre` (boundary included), input order."""
    return [camera for camera in cameras if distance_m(camera.position, centre) <= radius_m]


def adjacency(links: Iterable[CameraLink]) -> dict[str, frozenset[str]]:
    """Camera id -> ids of its neighbours. Links are two-way: each one counts in both directions."""
    neighbours: dict[str, set[str]] = {}
    for link in links:
        neighbours.setdefault(link.from_camera, set()).add(link.to_camera)
        neighbours.setdefault(link.to_camera, set()).add(link.from_camera)
    return {camera: frozenset(ids) for camera, ids in neighbours.items()}


def next_cameras(
    links: Iterable[CameraLink],
    registry: Mapping[str, Camera],
    current_cameras: Iterable[str],
    previous_position: Position | None,
    new_position: Position,
    *,
    exclude: Collection[str] = frozenset(),
    max_angle_deg: float = AHEAD_MAX_ANGLE_DEG,
) -> frozenset[str]:
    """The cameras where a suspect travelling from `previous_position` to `new_position` shows
    up next: neighbours (one link away) of the cameras near the suspect that lie ahead.

    A neighbour lies ahead when the bearing from `new_position` to it is less than
    `max_angle_deg` away from the direction of travel; one closer than MIN_MOVE_M to the
    suspect has no meaningful bearing and counts as ahead. Without a known direction of travel
    (first position, or a move shorter than MIN_MOVE_M) nothing is predicted. The current
    cameras themselves, those in `exclude` (e.g. already granted) and neighbours missing from
    `registry` are never returned.
    """
    heading = travel_bearing(previous_position, new_position)
    if heading is None:
        return frozenset()
    current = set(current_cameras)
    graph = adjacency(links)
    ahead: set[str] = set()
    for camera_id in current:
        for neighbour_id in graph.get(camera_id, frozenset()):
            neighbour = registry.get(neighbour_id)
            if neighbour is None or neighbour_id in current or neighbour_id in exclude:
                continue
            if distance_m(new_position, neighbour.position) < MIN_MOVE_M:
                ahead.add(neighbour_id)
                continue
            towards = bearing_deg(new_position, neighbour.position)
            if angle_between_deg(heading, towards) < max_angle_deg:
                ahead.add(neighbour_id)
    return frozenset(ahead)

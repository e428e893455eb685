"""Grant geometry: distances, bearings and the prediction of the next cameras ahead."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.config import Camera, CameraLink, Position
from streams.geometry import (
    EARTH_RADIUS_M,
    MIN_MOVE_M,
    adjacency,
    angle_between_deg,
    bearing_deg,
    cameras_within,
    distance_m,
    next_cameras,
    travel_bearing,
)

ORIGIN = Position(lat=50.85, lon=4.35)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


def offset(origin: Position, east_m: float, north_m: float) -> Position:
    """A position `east_m` east and `north_m` north of `origin` (flat approximation)."""
    lat = origin.lat + north_m / METRES_PER_DEGREE_LAT
    lon = origin.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(origin.lat)))
    return Position(lat=lat, lon=lon)


def camera(camera_id: str, position: Position, operator: str = "transit") -> Camera:
    data: dict[str, Any] = {
        "id": camera_id,
        "operator": operator,
        "name": camera_id,
        "position": position.model_dump(),
        "zone": "centre",
        "source_kind": "synthetic",
        "source": "synthetic://platform",
        "profile": "sd",
    }
    return Camera.model_validate(data)


def link(a: str, b: str) -> CameraLink:
    return CameraLink.model_validate({"from_camera": a, "to_camera": b, "via": "metro"})


positions = st.builds(
    Position,
    lat=st.floats(min_value=-85.0, max_value=85.0),
    lon=st.floats(min_value=-180.0, max_value=180.0),
)


# --------------------------------------------------------------------------- distance, bearing


def test_distance_of_one_degree_along_the_equator_is_about_111_km() -> None:
    """The radius an operator types in metres means metres on the ground."""
    d = distance_m(Position(lat=0.0, lon=0.0), Position(lat=0.0, lon=1.0))
    assert d == pytest.approx(111_195, rel=1e-4)


def test_distance_between_two_brussels_squares_matches_the_map() -> None:
    """Bourse to Grand-Place is about 270 m on a map."""
    bourse = Position(lat=50.8484, lon=4.3497)
    grand_place = Position(lat=50.8467, lon=4.3525)
    assert distance_m(bourse, grand_place) == pytest.approx(276, abs=10)


@given(positions, positions)
def test_distance_is_symmetric_and_non_negative(a: Position, b: Position) -> None:
    assert distance_m(a, b) >= 0
    assert distance_m(a, b) == pytest.approx(distance_m(b, a), abs=1e-6)
    assert distance_m(a, a) == 0


@given(positions, positions, positions)
def test_distance_obeys_the_triangle_inequality(a: Position, b: Position, c: Position) -> None:
    assert distance_m(a, c) <= distance_m(a, b) + distance_m(b, c) + 1e-6


@pytest.mark.parametrize(
    ("east", "north", "expected"),
    [(0, 100, 0.0), (100, 0, 90.0), (0, -100, 180.0), (-100, 0, 270.0), (100, 100, 45.0)],
)
def test_bearing_is_degrees_clockwise_from_north(east: int, north: int, expected: float) -> None:
    bearing = bearing_deg(ORIGIN, offset(ORIGIN, east, north))
    assert angle_between_deg(bearing, expected) < 0.5


@given(positions, positions)
def test_bearing_is_always_in_0_360(a: Position, b: Position) -> None:
    assert 0.0 <= bearing_deg(a, b) < 360.0


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [(350.0, 10.0, 20.0), (10.0, 350.0, 20.0), (0.0, 180.0, 180.0), (90.0, 90.0, 0.0)],
)
def test_angle_between_bearings_wraps_around_north(
    first: float, second: float, expected: float
) -> None:
    assert angle_between_deg(first, second) == pytest.approx(expected)


def test_travel_bearing_needs_a_previous_position_and_a_real_move() -> None:
    """A stationary suspect (GPS jitter) or a first position has no direction of travel."""
    assert travel_bearing(None, ORIGIN) is None
    assert travel_bearing(ORIGIN, offset(ORIGIN, MIN_MOVE_M / 2, 0)) is None
    east = travel_bearing(ORIGIN, offset(ORIGIN, 50, 0))
    assert east is not None
    assert angle_between_deg(east, 90.0) < 0.5


def test_cameras_within_includes_the_boundary_and_excludes_beyond() -> None:
    inside = camera("inside", offset(ORIGIN, 99, 0))
    beyond = camera("beyond", offset(ORIGIN, 0, 101))
    exact = camera("exact", offset(ORIGIN, 0, 50))
    radius = distance_m(ORIGIN, exact.position)
    assert [c.id for c in cameras_within([inside, beyond, exact], ORIGIN, 100.0)] == [
        "inside",
        "exact",
    ]
    assert [c.id for c in cameras_within([inside, beyond, exact], ORIGIN, radius)] == ["exact"]


# --------------------------------------------------------------------------- adjacency

# A metro line west to east: west - hub - east, and a branch hub - north.
STATIONS = {
    "west": camera("west", offset(ORIGIN, -400, 0)),
    "hub": camera("hub", ORIGIN),
    "east": camera("east", offset(ORIGIN, 400, 0)),
    "north": camera("north", offset(ORIGIN, 0, 400)),
}
LINE = [link("west", "hub"), link("hub", "east"), link("north", "hub")]


def test_links_are_two_way() -> None:
    """A link listed once (west -> hub) makes each camera a neighbour of the other."""
    graph = adjacency(LINE)
    assert graph["west"] == {"hub"}
    assert graph["hub"] == {"west", "east", "north"}
    assert graph["north"] == {"hub"}


def test_next_camera_is_the_one_ahead_in_the_direction_of_travel() -> None:
    """Eastbound through the hub, the next station is east; west (behind) and north are not."""
    got = next_cameras(LINE, STATIONS, ["hub"], offset(ORIGIN, -60, 0), offset(ORIGIN, 10, 0))
    assert got == {"east"}


def test_next_camera_follows_the_reverse_direction_too() -> None:
    got = next_cameras(LINE, STATIONS, ["hub"], offset(ORIGIN, 60, 0), offset(ORIGIN, -10, 0))
    assert got == {"west"}


def test_turning_north_predicts_the_branch() -> None:
    got = next_cameras(LINE, STATIONS, ["hub"], offset(ORIGIN, 0, -60), offset(ORIGIN, 0, 10))
    assert got == {"north"}


def test_no_prediction_without_a_direction_of_travel() -> None:
    assert next_cameras(LINE, STATIONS, ["hub"], None, ORIGIN) == frozenset()
    assert next_cameras(LINE, STATIONS, ["hub"], ORIGIN, offset(ORIGIN, 1, 0)) == frozenset()


def test_excluded_current_and_unknown_cameras_are_never_predicted() -> None:
    """Already granted cameras (exclude), the current ones and ids missing from the registry
    are left out."""
    before, after = offset(ORIGIN, -60, 0), offset(ORIGIN, 10, 0)
    assert next_cameras(LINE, STATIONS, ["hub"], before, after, exclude={"east"}) == frozenset()
    assert next_cameras(LINE, STATIONS, ["hub", "east"], before, after) == frozenset()
    registry = {k: v for k, v in STATIONS.items() if k != "east"}
    assert next_cameras(LINE, registry, ["hub"], before, after) == frozenset()


def test_a_neighbour_at_the_suspects_position_counts_as_ahead() -> None:
    """It has no bearing, but the suspect is right there."""
    stations = {**STATIONS, "east": camera("east", offset(ORIGIN, 12, 0))}
    got = next_cameras(LINE, stations, ["hub"], offset(ORIGIN, 0, -60), offset(ORIGIN, 12, 1))
    assert "east" in got


def test_no_neighbours_means_no_prediction() -> None:
    before, after = offset(ORIGIN, -60, 0), offset(ORIGIN, 10, 0)
    assert next_cameras([], STATIONS, ["hub"], before, after) == frozenset()
    assert next_cameras(LINE, STATIONS, [], before, after) == frozenset()

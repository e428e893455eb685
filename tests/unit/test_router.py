"""The router's decisions (pure): one frame, from its headers alone; which cameras it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.headers import frame_headers
from schemas.placement import Placement
from schemas.records import Grant, GrantStatus
from schemas.topics import frames_topic
from streams.policy import GrantIndex
from streams.routing import CATCH_UP_LAG, catching_up, route, slot_of, start_offset, wanted_sources
from tests.builders import frame
from tests.unit.test_policy import MINUTE_US, T0, T0_US, grant

NOW_US = int(datetime.now(UTC).timestamp() * 1e6)
OWNERS = {"stib-rogier": "stib", "police-bourse": "police-x"}


def _route(topic: str, camera: str, operator: str) -> str | None:
    f = frame(operator, camera)
    routed = route(topic, camera.encode(), frame_headers(f), GrantIndex(ready=True), NOW_US, OWNERS)
    return routed.problem


def test_a_frame_of_ones_own_camera_on_ones_own_topic_is_routed() -> None:
    assert _route("frames.stib", "stib-rogier", "stib") is None


def test_a_frame_naming_another_operators_camera_is_refused_with_the_owner() -> None:
    problem = _route("frames.police-x", "stib-rogier", "police-x")
    assert problem is not None
    assert "belongs to 'stib'" in problem


def test_headers_that_contradict_the_topic_are_refused() -> None:
    problem = _route("frames.police-x", "police-bourse", "stib")
    assert problem is not None
    assert "vigie-operator" in problem


def test_a_camera_the_configuration_does_not_know_is_judged_by_its_headers() -> None:
    assert _route("frames.stib", "stib-new-camera", "stib") is None


# ------------------------------------------------------------ which cameras a router reads

PLACED = Placement({f"stib-{n}": ("stib", n) for n in range(240)})


def _index(*grants: Grant) -> GrantIndex:
    return GrantIndex.from_grants(grants)


def _g(camera: str, **changes: Any) -> Grant:
    return grant(camera, "stib", **changes)


def test_a_router_reads_only_the_partitions_of_granted_cameras() -> None:
    """240 cameras, 2 granted: two partitions are read, each from the grant's start."""
    index = _index(
        grant("stib-7"), grant("stib-200", grantee="port", valid_from=T0 + timedelta(minutes=5))
    )
    wanted = wanted_sources(index, PLACED, held=range(3), slots=3)
    assert wanted == {
        (frames_topic("stib"), 7): T0_US,
        (frames_topic("stib"), 200): T0_US + 5 * MINUTE_US,
    }


def test_the_earliest_start_of_several_grants_on_one_camera_is_where_reading_begins() -> None:
    later = T0 + timedelta(minutes=3)
    index = _index(
        grant("stib-7", valid_from=later), grant("stib-7", grantee="port", grant_id="g2")
    )
    assert wanted_sources(index, PLACED, range(3), 3) == {(frames_topic("stib"), 7): T0_US}


def test_nothing_is_read_before_the_grants_have_recovered_or_after_a_revocation() -> None:
    recovering = GrantIndex()
    recovering.apply(_g("stib-7"))
    assert wanted_sources(recovering, PLACED, range(3), 3) == {}
    index = _index(_g("stib-7"), _g("stib-7", status=GrantStatus.REVOKED))
    assert wanted_sources(index, PLACED, range(3), 3) == {}


def test_a_granted_camera_the_placement_does_not_know_is_not_read() -> None:
    assert wanted_sources(_index(_g("elsewhere")), PLACED, range(3), 3) == {}


def test_each_camera_has_exactly_one_reader_among_the_slots() -> None:
    """Workers hold disjoint slots: every granted camera is read by exactly one of them."""
    index = _index(*(_g(f"stib-{n}", grant_id=f"g{n}") for n in range(0, 240, 7)))
    halves = [wanted_sources(index, PLACED, held, slots=3) for held in ({0}, {1, 2})]
    assert not set(halves[0]) & set(halves[1])
    assert set(halves[0]) | set(halves[1]) == set(wanted_sources(index, PLACED, range(3), 3))
    assert all(0 <= slot_of(s, 3) < 3 for s in halves[1])


def test_reading_starts_at_the_grant_start_or_where_the_group_stopped_if_later() -> None:
    assert start_offset(committed=None, from_time=120, end=500) == 120
    assert start_offset(committed=90, from_time=120, end=500) == 120  # an earlier grant's
    assert start_offset(committed=300, from_time=120, end=500) == 300  # a restart mid-grant
    assert start_offset(committed=None, from_time=None, end=500) == 500  # nothing since
    assert start_offset(committed=800, from_time=None, end=500) == 500  # a truncated log


def test_a_partition_far_behind_its_end_is_caught_up_apart_from_the_live_ones() -> None:
    assert catching_up(start=0, end=5000)  # a restarted worker's backlog
    assert not catching_up(start=4990, end=5000)  # frames since the last commit
    assert not catching_up(start=5000 - CATCH_UP_LAG, end=5000)
    assert catching_up(start=5000 - CATCH_UP_LAG - 1, end=5000)


def test_a_frame_on_another_cameras_partition_is_refused() -> None:
    f = frame("stib", "stib-7")
    routed = route(
        "frames.stib",
        b"stib-7",
        frame_headers(f),
        GrantIndex(ready=True),
        NOW_US,
        partition=8,
        placement=PLACED,
    )
    assert routed.problem is not None
    assert "partition 7" in routed.problem
    assert route(
        "frames.stib", b"stib-7", frame_headers(f), GrantIndex(ready=True), NOW_US,
        partition=7, placement=PLACED,
    ).problem is None  # fmt: skip

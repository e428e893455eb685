"""Each camera's partition of its operator's frames topic (pure): stable, one camera each."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.config import ConfigError, parse
from schemas.placement import placement, unreachable
from schemas.topics import frames_topic


def _config(cameras: list[dict[str, Any]]) -> dict[str, Any]:
    def camera(spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "operator": "stib",
            "name": spec["id"],
            "position": {"lat": 50.85, "lon": 4.35},
            "zone": "centre",
            "source_kind": "synthetic",
            "source": "synthetic://street",
            "profile": "sd",
            **spec,
        }

    return {
        "region": "test",
        "operators": [
            {"id": "stib", "name": "STIB", "kind": "public_transport"},
            {"id": "port", "name": "Port", "kind": "port"},
        ],
        "profiles": [{"name": "sd", "width": 640, "height": 360, "max_fps": 5.0}],
        "cameras": [camera(c) for c in cameras],
    }


def test_cameras_take_the_lowest_free_partitions_of_their_operator_in_file_order() -> None:
    config = parse(
        _config(
            [
                {"id": "cam-a"},
                {"id": "cam-b", "partition": 0},
                {"id": "port-1", "operator": "port"},
                {"id": "cam-c"},
            ]
        )
    )
    placed = placement(config.cameras)
    assert placed.slots == {
        "cam-b": ("stib", 0),
        "cam-a": ("stib", 1),
        "cam-c": ("stib", 2),
        "port-1": ("port", 0),
    }
    assert placed.source("cam-c") == (frames_topic("stib"), 2)
    assert placed.source("unknown") is None
    assert placed.partition_counts() == {"stib": 3, "port": 1}


def test_appending_cameras_moves_none_of_those_before() -> None:
    before = placement(parse(_config([{"id": "cam-a"}, {"id": "cam-b"}])).cameras)
    after = placement(parse(_config([{"id": "cam-a"}, {"id": "cam-b"}, {"id": "cam-c"}])).cameras)
    assert {k: after.slots[k] for k in before.slots} == before.slots


def test_a_pinned_partition_sets_the_topic_size() -> None:
    placed = placement(parse(_config([{"id": "cam-a", "partition": 9}])).cameras)
    assert placed.partition_counts() == {"stib": 10}


def test_two_cameras_pinned_to_one_partition_are_refused_with_their_key_paths() -> None:
    with pytest.raises(ConfigError) as refused:
        parse(_config([{"id": "cam-a", "partition": 3}, {"id": "cam-b", "partition": 3}]))
    assert "cameras[1].partition" in str(refused.value)
    assert "already" in str(refused.value)


def test_a_camera_beyond_its_topics_partitions_is_named_with_the_fix() -> None:
    placed = placement(parse(_config([{"id": "cam-a"}, {"id": "cam-b"}, {"id": "cam-c"}])).cameras)
    problems = unreachable(placed, {frames_topic("stib"): 2})
    assert set(problems) == {"cam-c"}
    assert "vigie provision" in problems["cam-c"]
    assert unreachable(placed, {}) == {}  # a topic not known yet is not judged

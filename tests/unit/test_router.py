"""The router's decision for one frame, from its headers alone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.headers import frame_headers
from streams.policy import GrantIndex
from streams.router import route
from tests.builders import frame

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

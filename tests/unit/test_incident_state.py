"""The policy worker's incident state on its changelog: JSON against a schema, never pickle; a
record that is not a state it can trust is refused with the reason."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from streams.incidents import Incident, handle
from streams.state import StateError, decode_state, encode_state
from tests.unit.test_incidents import CITY, offset, opened, update_cmd


def _moved_state() -> Incident:
    decision = handle(opened().incident, update_cmd(10, offset(400, 0)), CITY)
    assert decision.incident is not None
    return decision.incident


def test_a_state_with_grants_round_trips() -> None:
    incident = _moved_state()
    assert incident.grants
    assert decode_state(encode_state(incident)) == incident


def test_the_encoding_is_json_not_pickle() -> None:
    document = json.loads(encode_state(_moved_state()))
    assert document["format"] == 1
    assert document["state"]["incident_id"] == "inc-1"


def test_a_pickled_state_is_refused_without_being_unpickled() -> None:
    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (pytest.fail, ("a state record ran code",))

    with pytest.raises(StateError, match="not JSON"):
        decode_state(pickle.dumps(Boom()))


def _tampered(change: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(encode_state(_moved_state()))
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["state"].update(extra=1), "extra"),
        (lambda d: d.update(format=2), "unknown state format 2"),
        (lambda d: d["state"].update(opened_at="2025-03-01T12:00:00"), "naive time"),
        (lambda d: d["state"].update(status="half-open"), "status"),
        (lambda d: d["state"].update(last_seq="many"), "last_seq"),
        (lambda d: d.pop("state"), "not an incident state document"),
    ],
)
def test_a_bad_state_record_is_refused_with_the_reason(
    change: Callable[[dict[str, Any]], object], reason: str
) -> None:
    with pytest.raises(StateError, match=reason):
        decode_state(_tampered(change))

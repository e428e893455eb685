"""An incident's state on the wire, for its changelog topic: JSON checked against a schema, pure.

The policy worker keeps each incident's state (``streams.incidents.Incident``) on the compacted
`incident-state` topic and rebuilds it from there when it is given the incident's partition.
Never pickle: whoever can write a pickled changelog chooses the code a worker runs when it
restores it. A state record is a JSON document ``{"format": 1, "state": {...}}`` whose state is
validated field by field against the ``Incident`` dataclass (unknown keys, wrong types, naive
times are refused); anything else is a :class:`StateError` with the reason, and the worker
refuses to go on with a partition it cannot rebuild rather than guess.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from schemas.errors import VigieError
from schemas.records import Grant
from streams.incidents import Incident, TrackedGrant

__all__ = ["STATE_FORMAT", "StateError", "decode_state", "encode_state"]

STATE_FORMAT = 1
"""Version of the state document; a worker refuses a format it does not know."""

# pydantic reads a stdlib dataclass's config from this attribute: unknown keys are refused at
# every level of the state, not silently dropped.
for _cls in (Incident, TrackedGrant, Grant):
    _cls.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[union-attr]
_ADAPTER: TypeAdapter[Incident] = TypeAdapter(Incident)


class StateError(VigieError, ValueError):
    """A changelog record that is not an incident state this worker can trust."""


def encode_state(incident: Incident) -> bytes:
    state = _ADAPTER.dump_python(incident, mode="json")
    return json.dumps({"format": STATE_FORMAT, "state": state}, separators=(",", ":")).encode()


def _naive_times(value: Any, path: str = "state") -> list[str]:
    """Paths of datetimes without a UTC offset (pydantic accepts them; times here are UTC)."""
    if isinstance(value, datetime):
        return [path] if value.tzinfo is None else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _naive_times(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _naive_times(v, f"{path}[{i}]")]
    if hasattr(value, "__dataclass_fields__"):
        return [
            p
            for name in value.__dataclass_fields__
            for p in _naive_times(getattr(value, name), f"{path}.{name}")
        ]
    if hasattr(value, "model_dump"):
        return _naive_times(value.model_dump(), path)
    return []


def decode_state(data: bytes) -> Incident:
    """The incident in a changelog record; StateError saying what is wrong otherwise."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"format", "state"}:
        raise StateError('not an incident state document {"format": ..., "state": ...}')
    if document["format"] != STATE_FORMAT:
        raise StateError(f"unknown state format {document['format']!r}")
    try:
        incident = _ADAPTER.validate_python(document["state"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise StateError(f"invalid incident state: {problems}") from exc
    naive = _naive_times(incident)
    if naive:
        raise StateError(f"invalid incident state: naive time at {', '.join(naive)}")
    return incident

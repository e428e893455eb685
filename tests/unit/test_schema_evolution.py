"""Backward compatibility: data written with any released schema version still decodes.

Every file in ``schemas/avro/history`` is an earlier released version of a record. These tests
are generic over that directory: adding a version there is all it takes to have it checked.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from enum import Enum
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import AVRO_DIR, CODECS, FRAME, MARKER, PACKAGED_REGISTRY
from schemas.records import Frame, FrameEncoding

HISTORY = sorted((AVRO_DIR / "history").glob("*.avsc"))
T0 = datetime(2024, 6, 1, 12, 0, 0, 654321, tzinfo=UTC)

# Fingerprints of the current schemas. A change to a schema's canonical form (a field, type,
# name or symbol; not a doc) fails test_current_schemas_are_pinned: before updating the pin,
# copy the previous .avsc to history/<record>.v<N>.avsc so its data keeps being checked here.
PINNED_FINGERPRINTS = {
    "be.vigie.ArchiveChunk": 0x93B8505484218E31,  # v2: part int -> long
    "be.vigie.AuditRecord": 0x50D3959CA2DC0A82,  # v2: signature, signing_key_id
    "be.vigie.Camera": 0x4D1BCA84664F1A42,
    "be.vigie.CameraEvent": 0x0969A0B03C6BFDF3,
    "be.vigie.DeadLetter": 0x81EFAE8DE92F7AA1,
    "be.vigie.Frame": 0xD1839A51D69B2983,
    "be.vigie.Grant": 0x00BE398CE4A43ECD,
    "be.vigie.IncidentEvent": 0x7CBDDD2D34827C27,
    "be.vigie.IncidentCommand": 0x85801383786D07FA,
}


def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _full_name(schema: dict[str, Any]) -> str:
    name = str(schema["name"])
    return name if "." in name else f"{schema.get('namespace', '')}.{name}"


def _sample(schema: Any, named: dict[str, Any], *, nulls: bool) -> Any:
    """A valid datum for ``schema``; ``nulls`` picks null in every nullable union."""
    if isinstance(schema, list):
        if nulls and "null" in schema:
            return None
        return _sample(next(b for b in schema if b != "null"), named, nulls=nulls)
    if isinstance(schema, str):
        if schema in named:
            return _sample(named[schema], named, nulls=nulls)
        schema = {"type": schema}
    kind = schema["type"]
    if isinstance(kind, (list, dict)):
        return _sample(kind, named, nulls=nulls)
    if "name" in schema and kind in ("record", "enum", "fixed"):
        named[schema["name"]] = named[_full_name(schema)] = schema
    if schema.get("logicalType") == "timestamp-micros":
        return T0
    simple = {
        "null": None,
        "boolean": True,
        "int": 7,
        "long": 1_234_567_890_123,
        "float": 0.5,
        "double": 50.8503,
        "bytes": b"\xff\xd8 old bytes \xff\xd9",
        "string": "written by an older version",
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "fixed":
        return bytes(schema["size"])
    if kind == "array":
        return [_sample(schema["items"], named, nulls=nulls)]
    if kind == "map":
        return {"key": _sample(schema["values"], named, nulls=nulls)}
    if kind == "record":
        return {f["name"]: _sample(f["type"], named, nulls=nulls) for f in schema["fields"]}
    raise AssertionError(f"no sample for Avro type {kind!r}: extend _sample")


def _old_bytes(schema: dict[str, Any], datum: Any) -> bytes:
    """``datum`` in single-object encoding with ``schema``, by fastavro alone (not our codec)."""
    canonical = to_parsing_canonical_form(schema)
    buf = BytesIO()
    buf.write(MARKER + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")))
    schemaless_writer(buf, parse_schema(schema, named_schemas={}), datum)
    return buf.getvalue()


def _plain(value: Any) -> Any:
    """A decoded value in the shape fastavro writes: dicts, lists, enum symbols."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_history_is_not_empty() -> None:
    """The generic tests below check something: frame v1 is a released version."""
    assert AVRO_DIR / "history" / "frame.v1.avsc" in HISTORY


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
@pytest.mark.parametrize("path", HISTORY, ids=lambda p: p.name)
def test_data_written_with_every_history_version_decodes(path: Path, *, nulls: bool) -> None:
    """A message from an older producer decodes with today's codec, its values intact."""
    old = _load(path)
    name = _full_name(old)
    current = PACKAGED_REGISTRY.current(name).parsed
    datum = _sample(old, {}, nulls=nulls)

    record = CODECS[name].decode(_old_bytes(old, datum))

    decoded = _plain(record)
    for field in current["fields"]:
        if field["name"] in datum:
            assert decoded[field["name"]] == _plain(datum[field["name"]]), field["name"]
        else:
            assert decoded[field["name"]] == field["default"], field["name"]


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls"])
@pytest.mark.parametrize("path", HISTORY, ids=lambda p: p.name)
def test_every_history_version_resolves_to_the_current_schema(path: Path, *, nulls: bool) -> None:
    """fastavro's schema resolution accepts old writer -> current reader (backward compatible).

    This guards future changes: a new field without a default, a removed enum symbol or an
    incompatible type change makes resolution fail here.
    """
    old = _load(path)
    name = _full_name(old)
    current = _load(AVRO_DIR / PACKAGED_REGISTRY.current(name).source)
    buf = BytesIO()
    schemaless_writer(buf, parse_schema(old, named_schemas={}), _sample(old, {}, nulls=nulls))
    buf.seek(0)
    schemaless_reader(
        buf, parse_schema(old, named_schemas={}), parse_schema(current, named_schemas={})
    )
    assert buf.tell() == len(buf.getvalue())


def test_frame_v1_decodes_as_not_privacy_masked() -> None:
    """Frames from producers older than privacy masks read as privacy_masked=False."""
    v1 = _load(AVRO_DIR / "history" / "frame.v1.avsc")
    assert "privacy_masked" not in {f["name"] for f in v1["fields"]}
    datum = {
        "camera_id": "pz5339-rue-neuve-12",
        "operator": "pz5339",
        "capture_time": T0,
        "sequence": 41,
        "width": 640,
        "height": 360,
        "encoding": "JPEG",
        "image": b"\xff\xd8jpeg\xff\xd9",
    }

    frame = FRAME.decode(_old_bytes(v1, datum))

    assert frame == Frame(
        camera_id="pz5339-rue-neuve-12",
        operator="pz5339",
        capture_time=T0,
        sequence=41,
        width=640,
        height=360,
        encoding=FrameEncoding.JPEG,
        image=b"\xff\xd8jpeg\xff\xd9",
        privacy_masked=False,
    )


def test_current_schemas_are_pinned() -> None:
    """A schema change must come with its predecessor in history/ (see PINNED_FINGERPRINTS)."""
    current = {
        name: PACKAGED_REGISTRY.current(name).fingerprint for name in PACKAGED_REGISTRY.names
    }
    assert current == PINNED_FINGERPRINTS


def test_history_versions_differ_from_current() -> None:
    """A history file identical to the current schema checks nothing: it is a copy mistake."""
    for path in HISTORY:
        old = _load(path)
        current = PACKAGED_REGISTRY.current(_full_name(old))
        assert to_parsing_canonical_form(old) != to_parsing_canonical_form(current.parsed), path

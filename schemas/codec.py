"""Avro single-object encoding of the Vigie records.

Wire format (Avro specification, "Single object encoding")::

    C3 01 | CRC-64-AVRO fingerprint of the writer schema, 8 bytes little-endian | Avro binary body

The fingerprint is taken over the writer schema's Parsing Canonical Form, so any consumer can
find the schema a message was written with. The schemas shipped in ``schemas/avro`` (current)
and ``schemas/avro/history`` (earlier released versions) are parsed once, at import, into the
packaged :class:`SchemaRegistry`; one :class:`RecordCodec` per record type is built on it.
Decoding resolves data written with any known version of a record to the current schema.

Usage::

    from schemas.codec import FRAME
    payload = FRAME.encode(frame)
    frame = FRAME.decode(payload)  # raises DecodeError, and only DecodeError, on bad bytes
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from io import BytesIO
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.schema import SchemaParseException, to_parsing_canonical_form

from schemas.errors import VigieError
from schemas.records import (
    ArchiveChunk,
    AuditRecord,
    Camera,
    CameraEvent,
    DeadLetter,
    Frame,
    Grant,
    IncidentCommand,
    IncidentEvent,
)

__all__ = [
    "ARCHIVE_CHUNK",
    "AUDIT_RECORD",
    "AVRO_DIR",
    "CAMERA",
    "CAMERA_EVENT",
    "CODECS",
    "CRC64_AVRO_EMPTY",
    "DEAD_LETTER",
    "FRAME",
    "GRANT",
    "HEADER_SIZE",
    "INCIDENT_COMMAND",
    "INCIDENT_EVENT",
    "MARKER",
    "PACKAGED_REGISTRY",
    "DecodeError",
    "RecordCodec",
    "SchemaRegistry",
    "WriterSchema",
    "codec_for",
    "crc64_avro",
    "load_schema_file",
    "peek_fingerprint",
    "schema_fingerprint",
    "single_object_header",
]

MARKER = b"\xc3\x01"
"""The two bytes every single-object encoded message starts with."""
HEADER_SIZE = len(MARKER) + 8
"""Marker plus the 8-byte fingerprint: where the Avro body starts."""
CRC64_AVRO_EMPTY = 0xC15D213AA4D7A795
"""The Rabin fingerprint of the empty input, and the polynomial of CRC-64-AVRO."""

AVRO_DIR = Path(__file__).parent / "avro"

T = TypeVar("T")
ParsedSchema = dict[str, Any]


def _crc64_avro_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        fp = byte
        for _ in range(8):
            fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_CRC64_AVRO_TABLE = _crc64_avro_table()


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO (64-bit Rabin) fingerprint of ``data``, as an unsigned 64-bit integer.

    The reference algorithm of the Avro specification ("Schema Fingerprints"). Java's
    ``SchemaNormalization.parsingFingerprint64`` returns the same value as a signed long; on
    the wire it is written little-endian (see :func:`single_object_header`).
    """
    fp = CRC64_AVRO_EMPTY
    table = _CRC64_AVRO_TABLE
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def schema_fingerprint(schema: Any) -> int:
    """CRC-64-AVRO fingerprint of ``schema``'s Parsing Canonical Form."""
    return crc64_avro(to_parsing_canonical_form(schema).encode("utf-8"))


def single_object_header(fingerprint: int) -> bytes:
    """The 10 bytes that precede the body of a message written with this fingerprint."""
    return MARKER + fingerprint.to_bytes(8, "little")


class DecodeError(VigieError):
    """Bytes that are not a valid single-object encoded record of the expected type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def peek_fingerprint(data: bytes) -> int:
    """The writer-schema fingerprint of a single-object encoded message, without decoding it."""
    if len(data) < HEADER_SIZE:
        raise DecodeError(
            f"truncated header: {len(data)} bytes, single-object encoding needs {HEADER_SIZE}"
        )
    if data[:2] != MARKER:
        raise DecodeError(f"bad marker 0x{bytes(data[:2]).hex()}, expected 0x{MARKER.hex()}")
    return int.from_bytes(data[2:HEADER_SIZE], "little")


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """One parsed version of a record schema, as shipped in ``schemas/avro``."""

    name: str
    """Full record name, e.g. ``be.vigie.Frame``."""
    fingerprint: int
    parsed: ParsedSchema = dataclasses.field(repr=False)
    source: str
    """File the schema was read from, relative to the avro directory."""

    @property
    def header(self) -> bytes:
        return single_object_header(self.fingerprint)


def load_schema_file(path: Path, source: str) -> WriterSchema:
    """Parse one ``.avsc`` file (self-contained: it defines every named type it uses)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        parsed = parse_schema(raw, named_schemas={})
    except (ValueError, SchemaParseException) as exc:
        raise ValueError(f"{path}: not a valid Avro schema: {exc}") from exc
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise ValueError(f"{path}: top-level schema must be a record")
    return WriterSchema(
        name=str(parsed["name"]),
        fingerprint=schema_fingerprint(parsed),
        parsed=parsed,
        source=source,
    )


class SchemaRegistry:
    """In-process registry: current schema per record name, every known version by fingerprint."""

    def __init__(self, current: Iterable[WriterSchema], history: Iterable[WriterSchema]) -> None:
        self._current: dict[str, WriterSchema] = {}
        self._by_fingerprint: dict[int, WriterSchema] = {}
        self._versions: dict[str, list[WriterSchema]] = {}
        for schema in current:
            if schema.name in self._current:
                raise ValueError(
                    f"{schema.source}: {schema.name} is already defined by "
                    f"{self._current[schema.name].source}"
                )
            self._current[schema.name] = schema
        for schema in [*self._current.values(), *history]:
            if schema.name not in self._current:
                raise ValueError(f"{schema.source}: no current schema for {schema.name}")
            known = self._by_fingerprint.get(schema.fingerprint)
            if known is not None:
                if known.name != schema.name:
                    raise ValueError(
                        f"{schema.source} and {known.source} share fingerprint "
                        f"{schema.fingerprint:#018x}"
                    )
                continue  # same canonical form as a version already known
            self._by_fingerprint[schema.fingerprint] = schema
            self._versions.setdefault(schema.name, []).append(schema)

    @classmethod
    def from_directory(cls, directory: Path) -> SchemaRegistry:
        """Load ``directory/*.avsc`` as current schemas and ``directory/history/*.avsc``."""
        current = [load_schema_file(p, p.name) for p in sorted(directory.glob("*.avsc"))]
        history = [
            load_schema_file(p, f"history/{p.name}")
            for p in sorted((directory / "history").glob("*.avsc"))
        ]
        return cls(current, history)

    @property
    def names(self) -> frozenset[str]:
        """Full names of every record with a current schema."""
        return frozenset(self._current)

    def current(self, name: str) -> WriterSchema:
        """The current (reader) schema of record ``name``; KeyError if there is none."""
        return self._current[name]

    def versions(self, name: str) -> list[WriterSchema]:
        """Every known version of record ``name``, current first."""
        return list(self._versions.get(name, ()))

    def writer(self, fingerprint: int) -> WriterSchema | None:
        """The schema version written with ``fingerprint``, if any is known."""
        return self._by_fingerprint.get(fingerprint)


PACKAGED_REGISTRY = SchemaRegistry.from_directory(AVRO_DIR)
"""Every schema shipped in the package, parsed once at import."""

_Convert = Callable[[Any], Any]


def _nullable(convert: _Convert) -> _Convert:
    def convert_nullable(value: Any) -> Any:
        return None if value is None else convert(value)

    return convert_nullable


def _identity(convert: _Convert) -> _Convert:
    return convert


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: record times must be UTC-aware")
    return value


def _field_converters(
    record_type: type[Any], schema: ParsedSchema, named: Mapping[str, Any]
) -> tuple[list[tuple[str, _Convert]], list[tuple[str, _Convert]]]:
    """Per-field (encode, decode) conversions between a dataclass and fastavro's dicts.

    Only fields that need one get a converter: aware-datetime checks, enums, tuples and
    nested records. Also checks the dataclass mirrors the schema field for field.
    """
    fields = [f.name for f in dataclasses.fields(record_type)]
    schema_fields = [f["name"] for f in schema["fields"]]
    if fields != schema_fields:
        raise TypeError(
            f"{record_type.__name__} fields {fields} differ from {schema['name']} {schema_fields}"
        )
    hints = typing.get_type_hints(record_type)
    encoders: list[tuple[str, _Convert]] = []
    decoders: list[tuple[str, _Convert]] = []
    for field in schema["fields"]:
        name = field["name"]
        hint = hints[name]
        nullable = False
        if isinstance(hint, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            nullable, hint = True, args[0]
        wrap = _nullable if nullable else _identity
        if hint is datetime:
            encoders.append((name, wrap(_require_aware)))
        elif isinstance(hint, type) and issubclass(hint, Enum):
            decoders.append((name, wrap(hint)))
        elif typing.get_origin(hint) is tuple:
            decoders.append((name, wrap(tuple)))
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
            nested = _record_schema(field["type"], named)
            to_avro, from_avro = _record_converters(hint, nested, named)
            encoders.append((name, wrap(to_avro)))
            decoders.append((name, wrap(from_avro)))
    return encoders, decoders


def _record_schema(field_type: Any, named: Mapping[str, Any]) -> ParsedSchema:
    """The record schema inside a field type that is a record, a name, or a nullable union."""
    if isinstance(field_type, list):
        (field_type,) = [branch for branch in field_type if branch != "null"]
    if isinstance(field_type, str):
        field_type = named[field_type]
    return cast(ParsedSchema, field_type)


def _record_converters(
    record_type: type[T], schema: ParsedSchema, named: Mapping[str, Any]
) -> tuple[Callable[[T], dict[str, Any]], Callable[[dict[str, Any]], T]]:
    encoders, decoders = _field_converters(record_type, schema, named)
    names = [f["name"] for f in schema["fields"]]

    def to_avro(record: T) -> dict[str, Any]:
        datum = {name: getattr(record, name) for name in names}
        for name, convert in encoders:
            datum[name] = convert(datum[name])
        return datum

    def from_avro(datum: dict[str, Any]) -> T:
        for name, convert in decoders:
            datum[name] = convert(datum[name])
        return record_type(**datum)

    return to_avro, from_avro


class RecordCodec(Generic[T]):
    """Single-object encoding of one record type, reading every known version of it."""

    def __init__(
        self,
        record_type: type[T],
        record_name: str,
        registry: SchemaRegistry = PACKAGED_REGISTRY,
    ) -> None:
        self.record_type = record_type
        self.record_name = record_name
        self.schema = registry.current(record_name)
        self._registry = registry
        self._parsed = self.schema.parsed
        self._header = self.schema.header
        self._versions = {v.fingerprint: v for v in registry.versions(record_name)}
        self._to_avro, self._from_avro = _record_converters(
            record_type, self._parsed, self._parsed["__named_schemas"]
        )

    def __repr__(self) -> str:
        return f"RecordCodec({self.record_type.__name__}, {self.record_name!r})"

    @property
    def fingerprint(self) -> int:
        """Fingerprint of the current schema, the one :meth:`encode` writes."""
        return self.schema.fingerprint

    def encode(self, record: T) -> bytes:
        """Single-object encoding of ``record`` with the current schema.

        Raises ValueError (or fastavro's TypeError/ValueError) for a record that does not fit
        the schema, e.g. a naive datetime or an int out of range.
        """
        buf = BytesIO()
        buf.write(self._header)
        schemaless_writer(buf, self._parsed, self._to_avro(record))
        return buf.getvalue()

    def decode(self, data: bytes) -> T:
        """The record in ``data``, resolved to the current schema; DecodeError if not one."""
        fingerprint = peek_fingerprint(data)
        writer = self._versions.get(fingerprint)
        if writer is None:
            other = self._registry.writer(fingerprint)
            if other is None:
                raise DecodeError(f"unknown writer fingerprint {fingerprint:#018x}")
            raise DecodeError(f"writer schema {other.name} is not a {self.record_name}")
        # Data written with the current schema needs no schema resolution.
        reader = None if writer is self.schema else self._parsed
        buf = BytesIO(data)
        buf.seek(HEADER_SIZE)
        try:
            datum = schemaless_reader(buf, writer.parsed, reader)
            record = self._from_avro(cast(dict[str, Any], datum))
        except (
            EOFError,
            ValueError,
            IndexError,
            KeyError,
            TypeError,
            OverflowError,
            SchemaResolutionError,
        ) as exc:
            # fastavro reports a short read as EOFError, IndexError or struct.error (a
            # ValueError) depending on the type: having consumed every byte tells it apart.
            if isinstance(exc, EOFError) or buf.tell() >= len(data):
                raise DecodeError(f"truncated {self.record_name} body") from exc
            raise DecodeError(
                f"corrupt {self.record_name} body ({type(exc).__name__}: {exc})"
            ) from exc
        trailing = len(data) - buf.tell()
        if trailing:
            raise DecodeError(f"{trailing} unexpected bytes after the {self.record_name} body")
        return record


FRAME = RecordCodec(Frame, "be.vigie.Frame")
CAMERA_EVENT = RecordCodec(CameraEvent, "be.vigie.CameraEvent")
CAMERA = RecordCodec(Camera, "be.vigie.Camera")
INCIDENT_EVENT = RecordCodec(IncidentEvent, "be.vigie.IncidentEvent")
GRANT = RecordCodec(Grant, "be.vigie.Grant")
AUDIT_RECORD = RecordCodec(AuditRecord, "be.vigie.AuditRecord")
ARCHIVE_CHUNK = RecordCodec(ArchiveChunk, "be.vigie.ArchiveChunk")
DEAD_LETTER = RecordCodec(DeadLetter, "be.vigie.DeadLetter")
INCIDENT_COMMAND = RecordCodec(IncidentCommand, "be.vigie.IncidentCommand")

CODECS: Mapping[str, RecordCodec[Any]] = {
    codec.record_name: codec
    for codec in (
        FRAME,
        CAMERA_EVENT,
        CAMERA,
        INCIDENT_EVENT,
        GRANT,
        AUDIT_RECORD,
        ARCHIVE_CHUNK,
        DEAD_LETTER,
        INCIDENT_COMMAND,
    )
}
"""Every record codec, by full Avro record name."""

_BY_TYPE: Mapping[type[Any], RecordCodec[Any]] = {c.record_type: c for c in CODECS.values()}


def codec_for(record_type: type[T]) -> RecordCodec[T]:
    """The codec of a record dataclass, e.g. ``codec_for(Frame) is FRAME``."""
    return cast(RecordCodec[T], _BY_TYPE[record_type])

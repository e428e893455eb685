"""Routing metadata of a frame in Kafka headers, so routers never decode the frame payload.

Header values are bytes: strings as UTF-8, integers as ASCII decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.codec import FRAME
from schemas.errors import VigieError
from schemas.records import Frame

HEADER_CAMERA = "vigie-camera"
HEADER_OPERATOR = "vigie-operator"
HEADER_CAPTURE_US = "vigie-capture-us"
HEADER_SEQUENCE = "vigie-seq"
HEADER_SCHEMA = "vigie-schema"
"""Full Avro record name of the payload, e.g. ``be.vigie.Frame``."""

FRAME_HEADER_NAMES = (
    HEADER_CAMERA,
    HEADER_OPERATOR,
    HEADER_CAPTURE_US,
    HEADER_SEQUENCE,
    HEADER_SCHEMA,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_MAX_DECIMAL_DIGITS = 19  # a non-negative signed 64-bit integer


class HeaderError(VigieError, ValueError):
    """Kafka headers of a frame message are missing, duplicated or malformed."""

    def __init__(self, header: str, problem: str) -> None:
        super().__init__(f"header {header}: {problem}")
        self.header = header


@dataclass(frozen=True, slots=True)
class FrameRouting:
    """What a router needs to know about a frame, read from its Kafka headers."""

    camera_id: str
    operator: str
    capture_time_us: int
    """Capture time in microseconds since the epoch (UTC), as in the Avro body."""
    sequence: int


def to_epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly (no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: record times must be UTC-aware")
    return (moment - _EPOCH) // _ONE_US


def frame_headers(frame: Frame) -> list[tuple[str, bytes]]:
    """The Kafka headers to publish with ``frame``."""
    return [
        (HEADER_CAMERA, frame.camera_id.encode()),
        (HEADER_OPERATOR, frame.operator.encode()),
        (HEADER_CAPTURE_US, str(to_epoch_us(frame.capture_time)).encode("ascii")),
        (HEADER_SEQUENCE, str(frame.sequence).encode("ascii")),
        (HEADER_SCHEMA, FRAME.record_name.encode("ascii")),
    ]


def parse_frame_headers(headers: Sequence[tuple[str, bytes | None]]) -> FrameRouting:
    """The routing of a frame message; HeaderError naming the first bad or missing header.

    Headers that are not Vigie's are ignored; each of Vigie's must appear exactly once.
    """
    values: dict[str, bytes | None] = {}
    for name, value in headers:
        if name in FRAME_HEADER_NAMES:
            if name in values:
                raise HeaderError(name, "appears more than once")
            values[name] = value
    schema = _text(values, HEADER_SCHEMA)
    if schema != FRAME.record_name:
        raise HeaderError(HEADER_SCHEMA, f"payload is {schema!r}, not {FRAME.record_name}")
    return FrameRouting(
        camera_id=_text(values, HEADER_CAMERA),
        operator=_text(values, HEADER_OPERATOR),
        capture_time_us=_decimal(values, HEADER_CAPTURE_US),
        sequence=_decimal(values, HEADER_SEQUENCE),
    )


def _raw(values: dict[str, bytes | None], name: str) -> bytes:
    if name not in values:
        raise HeaderError(name, "missing")
    value = values[name]
    if not value:
        raise HeaderError(name, "empty")
    return value


def _text(values: dict[str, bytes | None], name: str) -> str:
    raw = _raw(values, name)
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise HeaderError(name, f"not UTF-8: {raw!r}") from exc


def _decimal(values: dict[str, bytes | None], name: str) -> int:
    raw = _raw(values, name)
    if not raw.isdigit() or len(raw) > _MAX_DECIMAL_DIGITS:
        raise HeaderError(name, f"not a non-negative decimal integer: {raw[:40]!r}")
    return int(raw)

"""Frame routing in Kafka headers: routers rely on it instead of decoding payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.headers import (
    HEADER_CAMERA,
    HEADER_CAPTURE_US,
    HEADER_OPERATOR,
    HEADER_SCHEMA,
    HEADER_SEQUENCE,
    FrameRouting,
    HeaderError,
    frame_headers,
    parse_frame_headers,
)
from schemas.records import Frame, FrameEncoding

FRAME = Frame(
    camera_id="stib-metro-de-brouckere-03",
    operator="stib",
    capture_time=datetime(2025, 3, 14, 8, 30, 15, 123456, tzinfo=UTC),
    sequence=1_234_567,
    width=1280,
    height=720,
    encoding=FrameEncoding.JPEG,
    image=b"\xff\xd8\xff\xd9",
)
CAPTURE_US = 1_741_941_015_123_456


def test_headers_round_trip_to_the_frame_routing() -> None:
    """What the producer puts in headers is exactly what a router reads back."""
    assert parse_frame_headers(frame_headers(FRAME)) == FrameRouting(
        camera_id="stib-metro-de-brouckere-03",
        operator="stib",
        capture_time_us=CAPTURE_US,
        sequence=1_234_567,
    )


def test_header_values_are_plain_bytes_for_standard_tools() -> None:
    """kcat and kafka-console-consumer show readable values: ASCII decimals and the record name."""
    assert dict(frame_headers(FRAME)) == {
        HEADER_CAMERA: b"stib-metro-de-brouckere-03",
        HEADER_OPERATOR: b"stib",
        HEADER_CAPTURE_US: str(CAPTURE_US).encode(),
        HEADER_SEQUENCE: b"1234567",
        HEADER_SCHEMA: b"be.vigie.Frame",
    }


def test_foreign_headers_are_ignored() -> None:
    """Headers added by other tools (tracing, kcat) do not disturb routing."""
    headers = [("traceparent", b"00-abc-01"), *frame_headers(FRAME), ("x", b"")]
    assert parse_frame_headers(headers).sequence == 1_234_567


@pytest.mark.parametrize(
    "missing", [HEADER_CAMERA, HEADER_OPERATOR, HEADER_CAPTURE_US, HEADER_SEQUENCE, HEADER_SCHEMA]
)
def test_missing_header_is_named(missing: str) -> None:
    """A message without one of the routing headers is refused, naming that header."""
    headers = [(k, v) for k, v in frame_headers(FRAME) if k != missing]
    with pytest.raises(HeaderError, match=f"header {missing}: missing") as info:
        parse_frame_headers(headers)
    assert info.value.header == missing


@pytest.mark.parametrize("bad", [b"12a", b"-1", b"1.5", b" 12", b"\xd9\xa3", b"9" * 20])
def test_non_numeric_sequence_is_named(bad: bytes) -> None:
    """A sequence that is not a non-negative ASCII decimal is refused, naming vigie-seq."""
    headers = [(k, bad if k == HEADER_SEQUENCE else v) for k, v in frame_headers(FRAME)]
    with pytest.raises(HeaderError, match=f"header {HEADER_SEQUENCE}: not a") as info:
        parse_frame_headers(headers)
    assert info.value.header == HEADER_SEQUENCE


def test_empty_or_null_header_is_named() -> None:
    """Kafka allows null header values; a null camera id is refused by name."""
    headers = [(k, None if k == HEADER_CAMERA else v) for k, v in frame_headers(FRAME)]
    with pytest.raises(HeaderError, match=f"header {HEADER_CAMERA}: empty"):
        parse_frame_headers(headers)


def test_duplicate_header_is_refused() -> None:
    """Two camera ids on one message are ambiguous: routing refuses rather than guesses."""
    headers = [*frame_headers(FRAME), (HEADER_CAMERA, b"other-camera")]
    with pytest.raises(HeaderError, match=f"header {HEADER_CAMERA}: appears more than once"):
        parse_frame_headers(headers)


def test_non_frame_payload_is_refused() -> None:
    """Headers announcing another record type are not read as a frame's routing."""
    headers = [(k, b"be.vigie.Grant" if k == HEADER_SCHEMA else v) for k, v in frame_headers(FRAME)]
    with pytest.raises(HeaderError, match=f"header {HEADER_SCHEMA}: payload is 'be.vigie.Grant'"):
        parse_frame_headers(headers)


def test_header_error_is_a_value_error() -> None:
    """Callers that treat bad input as ValueError (dead-letter paths) catch HeaderError too."""
    assert issubclass(HeaderError, ValueError)

"""The single-object Avro codec: what every stage relies on to read what another wrote."""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given
from hypothesis import strategies as st

from schemas.codec import (
    ARCHIVE_CHUNK,
    AUDIT_RECORD,
    AVRO_DIR,
    CAMERA,
    CAMERA_EVENT,
    CODECS,
    CRC64_AVRO_EMPTY,
    DEAD_LETTER,
    FRAME,
    GRANT,
    HEADER_SIZE,
    INCIDENT_EVENT,
    MARKER,
    PACKAGED_REGISTRY,
    DecodeError,
    RecordCodec,
    codec_for,
    crc64_avro,
    peek_fingerprint,
    schema_fingerprint,
)
from schemas.records import (
    ArchiveChunk,
    AuditAction,
    AuditRecord,
    Camera,
    CameraEvent,
    CameraEventKind,
    CameraHealth,
    DeadLetter,
    Frame,
    FrameEncoding,
    Grant,
    GrantStatus,
    IncidentAction,
    IncidentCommand,
    IncidentEvent,
    IncidentEventKind,
    IncidentKind,
    SourceKind,
    TamperKind,
)

T0 = datetime(2025, 3, 14, 8, 30, 15, 123456, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400 + b"\xff\xd9"  # ~100 KB, like a real frame

FRAME_SAMPLE = Frame(
    camera_id="stib-metro-de-brouckere-03",
    operator="stib",
    capture_time=T0,
    sequence=1_234_567,
    width=1280,
    height=720,
    encoding=FrameEncoding.JPEG,
    image=JPEG,
    privacy_masked=True,
)

GRANT_SAMPLE = Grant(
    grant_id="g-7f3a",
    incident_id="inc-2025-0042",
    camera_id="stib-metro-de-brouckere-03",
    owner_operator="stib",
    grantee_operator="police-bruxelles-ixelles",
    live=True,
    archive=False,
    valid_from=T0,
    valid_until=T0 + timedelta(hours=2),
    legal_basis="Loi caméras art. 9",
    agreement_id="agr-stib-pz5339",
    granted_by="svc-policy",
    status=GrantStatus.REVOKED,
    revoked_at=T0 + timedelta(minutes=40),
    reason="suspect left the metro",
)

SAMPLES: list[Any] = [
    FRAME_SAMPLE,
    CameraEvent(
        camera_id="pz5339-rue-neuve-12",
        operator="pz5339",
        time=T0,
        kind=CameraEventKind.HEALTH,
        health=CameraHealth(
            achieved_fps=9.5, dropped_frames=12, bytes_per_second=812_345.5, frames_published=9876
        ),
    ),
    CameraEvent(
        camera_id="pz5339-rue-neuve-12",
        operator="pz5339",
        time=T0,
        kind=CameraEventKind.TAMPER,
        reason="lens covered",
        tamper=TamperKind.COVERED,
        motion_score=0.75,
    ),
    CameraEvent(camera_id="c", operator="o", time=T0, kind=CameraEventKind.OFFLINE),
    Camera(
        camera_id="routes-r0-km12",
        operator="routes",
        name="R0 km 12 — échangeur",
        latitude=50.8503,
        longitude=4.3517,
        zone="ring",
        tags=("road", "highway"),
        profile="hd-10fps",
        source_kind=SourceKind.RTSP,
        active=True,
        updated_at=T0,
    ),
    IncidentEvent(
        incident_id="inc-2025-0042",
        time=T0,
        kind=IncidentEventKind.OPENED,
        operator="pz5339",
        incident_kind=IncidentKind.PURSUIT,
        latitude=50.85,
        longitude=4.35,
        radius_m=300.0,
        legal_basis="Loi caméras art. 9",
        requested_by="inspector.dupont",
    ),
    IncidentEvent(
        incident_id="inc-2025-0042", time=T0, kind=IncidentEventKind.CLOSED, operator="pz5339"
    ),
    GRANT_SAMPLE,
    AuditRecord(
        audit_id="a-0001",
        time=T0,
        actor="svc-policy",
        operator="pz5339",
        action=AuditAction.GRANT,
        subject_operator="stib",
        camera_id="stib-metro-de-brouckere-03",
        incident_id="inc-2025-0042",
        legal_basis="Loi caméras art. 9",
        reason="camera within 300 m of the pursuit",
        details={"grant_id": "g-7f3a", "agreement_id": "agr-stib-pz5339"},
        previous_hash=hashlib.sha256(b"previous").digest(),
        record_hash=hashlib.sha256(b"this").digest(),
    ),
    ArchiveChunk(
        operator="stib",
        camera_id="stib-metro-de-brouckere-03",
        bucket="archive-stib",
        video_key="stib-metro-de-brouckere-03/2025/03/14/08/000.mp4",
        manifest_key="stib-metro-de-brouckere-03/2025/03/14/08/000.json",
        window_start=T0,
        window_end=T0 + timedelta(seconds=10),
        part=0,
        first_sequence=1_234_567,
        last_sequence=1_234_666,
        frame_count=100,
        container="mp4",
        codec="h264",
        video_sha256=hashlib.sha256(JPEG).hexdigest(),
        video_bytes=1_048_576,
        source_topic="frames.stib",
        source_partition=3,
        first_offset=1000,
        last_offset=1099,
        stored_at=T0 + timedelta(seconds=12),
    ),
    DeadLetter(
        time=T0,
        stage="policy",
        source_topic="frames.stib",
        source_partition=3,
        source_offset=1000,
        key=b"stib-metro-de-brouckere-03",
        value=b"\x00\x01garbage",
        headers={"vigie-camera": b"stib-metro-de-brouckere-03", "vigie-seq": b"12"},
        error_kind="DecodeError",
        reason="bad marker 0x0001",
    ),
    IncidentCommand(
        command_id="6f1c2a8e-3b9d-4f51-9a57-0d4b7c1e2f30",
        incident_id="inc-2025-0042",
        action=IncidentAction.OPEN,
        operator="police-midi",
        incident_kind=IncidentKind.PURSUIT,
        latitude=50.8364,
        longitude=4.3365,
        radius_m=250.0,
        legal_basis="Loi caméras, art. 7/1",
        requested_by="inspector.dupont",
        requested_at=T0,
    ),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_type_round_trips(record: Any) -> None:
    """Whatever a stage encodes, the next stage decodes to an equal record."""
    codec = codec_for(type(record))
    assert codec.decode(codec.encode(record)) == record


def test_every_shipped_schema_has_a_codec() -> None:
    """Adding an .avsc without a codec (or the reverse) is caught."""
    assert set(CODECS) == PACKAGED_REGISTRY.names
    assert {type(r) for r in SAMPLES} == {c.record_type for c in CODECS.values()}


def test_codec_constants_are_the_registered_ones() -> None:
    """codec_for(Frame) and the FRAME constant are the same object."""
    for codec in (
        FRAME,
        CAMERA_EVENT,
        CAMERA,
        INCIDENT_EVENT,
        GRANT,
        AUDIT_RECORD,
        ARCHIVE_CHUNK,
        DEAD_LETTER,
    ):
        assert codec_for(codec.record_type) is codec


def test_decoded_times_are_utc_aware() -> None:
    """Times come back timezone-aware in UTC, whatever zone they were written from."""
    brussels = FRAME_SAMPLE.capture_time.astimezone(timezone(timedelta(hours=1)))
    frame = FRAME.decode(FRAME.encode(replace(FRAME_SAMPLE, capture_time=brussels)))
    assert frame.capture_time.utcoffset() == timedelta(0)
    assert frame.capture_time == T0


def test_naive_datetime_is_refused_at_encode() -> None:
    """A naive datetime would be silently read as UTC: encoding refuses it."""
    naive = T0.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive datetime"):
        FRAME.encode(replace(FRAME_SAMPLE, capture_time=naive))


def test_single_object_framing() -> None:
    """Bytes on the wire: C3 01, the schema's CRC-64-AVRO fingerprint little-endian, the body."""
    data = FRAME.encode(FRAME_SAMPLE)
    canonical = to_parsing_canonical_form(
        json.loads((AVRO_DIR / "frame.avsc").read_text(encoding="utf-8"))
    )
    assert data[:2] == b"\xc3\x01" == MARKER
    assert data[2:10] == bytes.fromhex(fastavro_fingerprint(canonical, "CRC-64-AVRO"))
    assert data[2:10] == crc64_avro(canonical.encode()).to_bytes(8, "little")
    assert peek_fingerprint(data) == FRAME.fingerprint
    # The body is plain Avro binary: the image bytes sit in it unchanged.
    assert JPEG in data[HEADER_SIZE:]


# Parsing canonical forms and fingerprints from the Avro project's own test data
# (share/test/data/schema-tests.txt), computed by Java's
# SchemaNormalization.parsingFingerprint64 and given there as signed longs.
AVRO_VECTORS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('"string"', -8142146995180207161),
    ("[]", -1241056759729112623),
    ('{"name":"foo","type":"record","fields":[]}', -4824392279771201922),
    ('{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771),
    ('{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', -4448647247586288245),
    ('{"type":"map","values":"string"}', -8732877298790414990),
]


@pytest.mark.parametrize(("canonical", "java_long"), AVRO_VECTORS)
def test_fingerprint_matches_avro_reference_vectors(canonical: str, java_long: int) -> None:
    """Our CRC-64-AVRO equals the Java reference, and the wire bytes are its little-endian form.

    Java writes the long little-endian in single-object encoding, so a Java consumer finds our
    writer schema and we find its.
    """
    fp = crc64_avro(canonical.encode())
    assert fp == java_long & 0xFFFF_FFFF_FFFF_FFFF
    assert fp.to_bytes(8, "little") == struct.pack("<q", java_long)


def test_fingerprint_of_empty_input_is_the_empty_constant() -> None:
    """The Rabin fingerprint of no bytes is EMPTY (0xc15d213aa4d7a795), as the spec defines."""
    assert crc64_avro(b"") == CRC64_AVRO_EMPTY == 0xC15D213AA4D7A795


@pytest.mark.parametrize("path", sorted(AVRO_DIR.rglob("*.avsc")), ids=lambda p: p.name)
def test_fingerprint_matches_fastavro_for_every_shipped_schema(path: Path) -> None:
    """Our fingerprint and fastavro's agree on every schema we ship, current and history."""
    canonical = to_parsing_canonical_form(json.loads(path.read_text(encoding="utf-8")))
    ours = schema_fingerprint(json.loads(path.read_text(encoding="utf-8")))
    assert ours.to_bytes(8, "little").hex() == fastavro_fingerprint(canonical, "CRC-64-AVRO")


@given(st.binary(max_size=300))
def test_fingerprint_matches_fastavro_on_any_bytes(data: bytes) -> None:
    """The table-driven CRC agrees with fastavro's on arbitrary input, not just schemas."""
    text = data.decode("latin-1")
    assert crc64_avro(text.encode("utf-8")).to_bytes(8, "little").hex() == fastavro_fingerprint(
        text, "CRC-64-AVRO"
    )


def test_wrong_marker_is_a_decode_error() -> None:
    """Bytes that are not single-object encoded (e.g. Confluent framing) are refused by name."""
    data = b"\x00\x00" + FRAME.encode(FRAME_SAMPLE)[2:]
    with pytest.raises(DecodeError, match="bad marker 0x0000") as info:
        FRAME.decode(data)
    assert "0x0000" in info.value.reason


def test_unknown_fingerprint_is_a_decode_error() -> None:
    """A message written with a schema we never shipped names the fingerprint."""
    data = MARKER + (0x1A2B3C4D5E6F7081).to_bytes(8, "little") + b"\x00"
    with pytest.raises(DecodeError, match="unknown writer fingerprint 0x1a2b3c4d5e6f7081"):
        FRAME.decode(data)


@pytest.mark.parametrize("cut", [0, 1, 5, HEADER_SIZE - 1])
def test_truncated_header_is_a_decode_error(cut: int) -> None:
    """Fewer than 10 bytes cannot hold the marker and the fingerprint."""
    with pytest.raises(DecodeError, match="truncated header"):
        FRAME.decode(FRAME.encode(FRAME_SAMPLE)[:cut])


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_truncated_body_is_a_decode_error(record: Any) -> None:
    """A message cut anywhere in its body is reported as truncated, never half-decoded."""
    codec = codec_for(type(record))
    data = codec.encode(record)
    middle = (len(data) + HEADER_SIZE) // 2
    for cut in sorted({HEADER_SIZE, HEADER_SIZE + 1, middle, len(data) - 1}):
        with pytest.raises(DecodeError, match="truncated"):
            codec.decode(data[:cut])


def test_trailing_bytes_are_a_decode_error() -> None:
    """Bytes after the body mean the message is not what the writer sent."""
    with pytest.raises(DecodeError, match="2 unexpected bytes"):
        GRANT.decode(GRANT.encode(GRANT_SAMPLE) + b"\x00\x00")


def test_other_record_type_is_a_decode_error_naming_both() -> None:
    """A Grant on a frame topic is refused, saying what it is and what was expected."""
    with pytest.raises(DecodeError) as info:
        FRAME.decode(GRANT.encode(GRANT_SAMPLE))
    assert info.value.reason == "writer schema be.vigie.Grant is not a be.vigie.Frame"


def test_bad_enum_index_is_a_decode_error() -> None:
    """A corrupt enum index is reported as a corrupt body, not an IndexError."""
    offline = CameraEvent(camera_id="c", operator="o", time=T0, kind=CameraEventKind.OFFLINE)
    data = bytearray(CAMERA_EVENT.encode(offline))
    # The body ends with kind (OFFLINE: index 1, zig-zag 0x02) and four null union branches.
    assert data[-5:] == b"\x02\x00\x00\x00\x00"
    data[-5] = 0x7E  # zig-zag 63: no such symbol
    with pytest.raises(DecodeError, match=r"corrupt be\.vigie\.CameraEvent body"):
        CAMERA_EVENT.decode(bytes(data))


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_record_or_a_decode_error(data: bytes) -> None:
    """Whatever arrives on a topic, decoding yields a record or DecodeError, nothing else."""
    for codec in CODECS.values():
        _decode_or_error(codec, data)


@given(st.binary(max_size=200), st.sampled_from(sorted(CODECS)))
def test_any_body_after_a_valid_header_decodes_or_fails_cleanly(data: bytes, name: str) -> None:
    """Corrupt bodies behind a genuine header (the hard case) also only raise DecodeError."""
    codec = CODECS[name]
    _decode_or_error(codec, codec.schema.header + data)


@given(st.data())
def test_flipped_bytes_in_a_real_message_decode_or_fail_cleanly(data: st.DataObject) -> None:
    """Bit rot in a genuine message yields a record or DecodeError, nothing else."""
    record = data.draw(st.sampled_from(SAMPLES[1:]))
    codec = codec_for(type(record))
    encoded = bytearray(codec.encode(record))
    index = data.draw(st.integers(HEADER_SIZE, len(encoded) - 1))
    encoded[index] = data.draw(st.integers(0, 255))
    _decode_or_error(codec, bytes(encoded))


def _decode_or_error(codec: RecordCodec[Any], data: bytes) -> None:
    """Decode ``data``; anything raised other than DecodeError fails the calling test."""
    try:
        record = codec.decode(data)
    except DecodeError as exc:
        reason = exc.reason
        assert reason, "a DecodeError must say why"
    else:
        assert isinstance(record, codec.record_type)

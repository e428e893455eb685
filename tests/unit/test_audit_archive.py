"""The write-once audit archive's bookkeeping (pure): segments by offsets, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consumers.audit.archive import (
    Segment,
    anchor_of,
    archived_upto,
    decode,
    encode,
    segments_to_write,
)
from consumers.audit.commands import judge
from schemas.audit_chain import GENESIS, key_id, seal, sign
from schemas.audit_trail import anchor_key
from schemas.codec import AUDIT_RECORD
from tests.unit.test_audit_chain import draft

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_only_records_after_the_archived_offset_are_written_again() -> None:
    records = {0: [(0, b"a"), (1, b"b"), (2, b"c")], 1: [(0, b"x")]}
    first = segments_to_write(records, {})
    assert [(s.partition, s.key) for s in first] == [
        (0, "p0/000000000000-000000000002.jsonl"),
        (1, "p1/000000000000-000000000000.jsonl"),
    ]
    upto = archived_upto(s.key for s in first)
    assert upto == {0: 2, 1: 0}
    assert segments_to_write(records, upto) == []
    records[0].append((3, b"d"))
    (again,) = segments_to_write(records, upto)
    assert again.key == "p0/000000000003-000000000003.jsonl"


def test_segment_lines_keep_the_exact_record_bytes() -> None:
    segment = Segment(0, ((7, b"\xc3\x01\x00binary"), (8, b"\n\xff")))
    assert decode(encode(segment)) == [(7, b"\xc3\x01\x00binary"), (8, b"\n\xff")]


def test_foreign_object_names_are_ignored() -> None:
    assert archived_upto(["README", "p0/x.jsonl", "p2/000000000001-000000000009.jsonl"]) == {2: 9}


def test_a_segment_is_anchored_at_its_last_audit_record_junk_skipped() -> None:
    record = seal(draft(0), GENESIS)
    segment = Segment(3, ((10, AUDIT_RECORD.encode(record)), (11, b"junk")))
    anchor = anchor_of(segment, NOW)
    assert anchor is not None
    assert (anchor.partition, anchor.offset, anchor.record_hash) == (3, 10, record.record_hash)
    assert anchor.segment == segment.key
    assert anchor_key(anchor.partition, anchor.offset) == "anchors/p3/000000000010.json"
    assert anchor_of(Segment(3, ((12, b"junk"),)), NOW) is None


def test_verify_names_each_partition_and_fails_on_an_anchored_partition_gone() -> None:
    """Every partition is reported, not only up to the first broken one; a partition the
    anchors know but the topic no longer has is a cut."""
    key = Ed25519PrivateKey.generate()
    record = sign(seal(draft(0), GENESIS), key)
    entries = {0: [(0, AUDIT_RECORD.encode(record)), (1, b"junk")]}
    anchor = anchor_of(Segment(1, ((5, AUDIT_RECORD.encode(record)),)), NOW)
    assert anchor is not None

    code, lines = judge(entries, {key_id(key.public_key()): key.public_key()}, {1: anchor}, "audit")

    assert code == 1
    assert lines[0].startswith("audit[0]: junk at offset 1 skipped (not an audit record: ")
    assert lines[1].startswith(f"audit[0]: 1 records (1 signed by key {key_id(key.public_key())})")
    assert "chain intact" in lines[1]
    assert lines[2].startswith("audit[1]: 0 records")
    assert lines[3] == (
        "audit[1]: BROKEN: the partition is empty, but offset 5 was anchored: records cut"
    )

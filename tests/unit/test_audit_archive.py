"""The write-once audit archive's bookkeeping (pure): segments by offsets, nothing twice."""

from __future__ import annotations

from consumers.audit.archive import Segment, archived_upto, decode, encode, segments_to_write


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

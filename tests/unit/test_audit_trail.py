"""Judging a partition of the audit topic (pure): the one junk rule shared by the sealer and
`vigie audit verify`, signatures, and anchors that catch a cut or a rewrite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.audit_chain import GENESIS, compute_hash, key_id, seal, sign
from schemas.audit_trail import (
    Anchor,
    anchor_key,
    check_partition,
    decode_anchor,
    encode_anchor,
    latest_anchor_keys,
    read_trail,
)
from schemas.codec import AUDIT_RECORD
from schemas.records import AuditRecord
from streams.sealer import AuditChains
from tests.unit.test_audit_chain import draft

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entries(records: list[AuditRecord], start: int = 0) -> list[tuple[int, bytes | None]]:
    return [(start + i, AUDIT_RECORD.encode(r)) for i, r in enumerate(records)]


def signed_chain(n: int, *, previous: bytes = GENESIS, first: int = 0) -> list[AuditRecord]:
    out = []
    for i in range(first, first + n):
        record = sign(seal(draft(i), previous), KEY)
        out.append(record)
        previous = record.record_hash
    return out


def anchor_at(offset: int, record: AuditRecord) -> Anchor:
    return Anchor(0, offset, record.record_hash, "p0/x.jsonl", T0)


class _Record:
    def __init__(self, offset: int, value: bytes | None) -> None:
        self.offset, self.value = offset, value


def test_junk_is_skipped_and_the_chain_goes_on_for_sealer_and_verifier_alike() -> None:
    """The sealer chains its next record onto the last audit record before the junk, and
    verify accepts exactly that chain: both read the topic with the same rule."""
    records = signed_chain(2)
    topic = [*entries(records), (2, b"not avro"), (3, None)]
    chains = AuditChains(KEY)
    chains.recovered(0, [_Record(o, v) for o, v in topic])
    following = chains.seal(0, draft(7))
    assert following is not None
    assert following.previous_hash == records[-1].record_hash
    topic.append((4, AUDIT_RECORD.encode(following)))

    verdict = check_partition(0, topic, KEYS)

    assert verdict.ok, verdict.problems
    assert [j.offset for j in verdict.junk] == [2, 3]
    assert verdict.records == 3
    assert read_trail(topic).head == following.record_hash


def test_a_signed_chain_verifies_with_its_key() -> None:
    verdict = check_partition(0, entries(signed_chain(4)), KEYS)
    assert verdict.ok
    assert (verdict.signed, verdict.unsigned) == (4, 0)
    assert verdict.key_ids == frozenset(KEYS)


def test_old_unsigned_records_verify_as_a_chain_and_are_reported_unsigned() -> None:
    old = [seal(draft(0), GENESIS)]
    old.append(seal(draft(1), old[0].record_hash))
    new = signed_chain(2, previous=old[-1].record_hash, first=2)
    verdict = check_partition(0, entries(old + new), KEYS)
    assert verdict.ok, verdict.problems
    assert (verdict.signed, verdict.unsigned) == (2, 2)


def test_an_unsigned_record_after_signed_ones_fails() -> None:
    """Anyone can compute a hash: once the sealer signs, an unsigned link is an intruder's."""
    records = signed_chain(2)
    records.append(seal(draft(9), records[-1].record_hash))
    verdict = check_partition(0, entries(records), KEYS)
    assert not verdict.ok
    assert verdict.problems == ("offset 2: unsigned record after signed ones: not written by the"
                                " sealer",)  # fmt: skip


def test_a_record_forged_without_the_key_fails_even_with_a_valid_hash() -> None:
    records = signed_chain(3)
    intruder = Ed25519PrivateKey.generate()
    records.append(sign(seal(draft(5), records[-1].record_hash), intruder))
    verdict = check_partition(0, entries(records), KEYS)
    assert not verdict.ok
    assert "offset 3: signed with key" in verdict.problems[0]
    assert "not published" in verdict.problems[0]


def test_an_altered_record_fails_hash_and_signature() -> None:
    records = signed_chain(3)
    altered = replace(records[1], reason="nothing to see")
    records[1] = replace(altered, record_hash=compute_hash(altered))
    verdict = check_partition(0, entries(records), KEYS)
    assert len(verdict.problems) == 2
    assert verdict.problems[0].startswith("offset 2: ")
    assert "previous_hash does not match" in verdict.problems[0]
    assert verdict.problems[1].startswith("offset 1: signature does not match")


def test_the_anchored_record_still_there_passes() -> None:
    records = signed_chain(5)
    verdict = check_partition(0, entries(records), KEYS, anchor_at(3, records[3]))
    assert verdict.ok
    assert verdict.anchor.startswith("anchored up to offset 3")


def test_records_deleted_at_the_front_after_anchoring_are_found() -> None:
    """kafka-delete-records moves the partition's start past the anchor."""
    records = signed_chain(5)
    verdict = check_partition(0, entries(records[4:], start=4), KEYS, anchor_at(3, records[3]))
    assert not verdict.ok
    assert any("starts at offset 4, after the anchored offset 3" in p for p in verdict.problems)
    assert any(p.startswith("offset 4: ") and "previous_hash" in p for p in verdict.problems)


def test_a_partition_recreated_and_written_again_is_found() -> None:
    """Same offsets, a chain that verifies on its own, even signed: not the anchored one."""
    records = signed_chain(5)
    rewritten = [sign(seal(replace(draft(i), reason="other"), GENESIS), KEY) for i in range(1)]
    rewritten += signed_chain(3, previous=rewritten[0].record_hash, first=1)
    verdict = check_partition(0, entries(rewritten), KEYS, anchor_at(3, records[3]))
    assert verdict.problems == (
        f"offset 3 holds record_hash {rewritten[3].record_hash.hex()}, not the anchored"
        f" {records[3].record_hash.hex()}: rewritten after anchoring",
    )


@pytest.mark.parametrize("kept", [0, 2])
def test_a_partition_that_ends_before_the_anchor_is_found(kept: int) -> None:
    records = signed_chain(5)
    verdict = check_partition(0, entries(records[:kept]), KEYS, anchor_at(3, records[3]))
    assert not verdict.ok
    assert "records cut" in verdict.problems[-1]


def test_junk_at_the_anchored_offset_is_a_rewrite() -> None:
    records = signed_chain(5)
    topic = entries(records)
    topic[3] = (3, b"junk")
    verdict = check_partition(0, topic, KEYS, anchor_at(3, records[3]))
    assert "offset 3 is no longer an audit record" in verdict.problems[-1]


def test_the_latest_anchor_is_the_highest_offset_and_round_trips() -> None:
    keys = [anchor_key(0, 9), anchor_key(0, 120), anchor_key(1, 3), "p0/x.jsonl", "anchors/x"]
    assert latest_anchor_keys(keys) == {0: anchor_key(0, 120), 1: anchor_key(1, 3)}
    assert anchor_key(0, 120) == "anchors/p0/000000000120.json"
    anchor = anchor_at(3, signed_chain(4)[3])
    assert decode_anchor(encode_anchor(anchor)) == anchor
    with pytest.raises(ValueError, match="not an anchor"):
        decode_anchor(b"{}")

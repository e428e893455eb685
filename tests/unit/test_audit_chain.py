"""The audit hash chain: what an ethics committee relies on to trust the audit trail."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.audit_chain import (
    GENESIS,
    UNHASHED,
    SignatureStatus,
    canonical_bytes,
    check_signature,
    compute_hash,
    key_id,
    load_public_key_pem,
    public_key_pem,
    seal,
    sign,
    signed_message,
    verify_chain,
)
from schemas.codec import AUDIT_RECORD
from schemas.records import AuditAction, AuditRecord

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def draft(n: int) -> AuditRecord:
    return AuditRecord(
        audit_id=f"inc-1/{n}",
        time=T0 + timedelta(seconds=n),
        actor="inspector.dupont",
        operator="police-bruxelles-ixelles",
        action=AuditAction.GRANT if n % 2 else AuditAction.REVOKE,
        subject_operator="stib",
        camera_id=f"stib-cam-{n}",
        incident_id="inc-1",
        legal_basis="Loi caméras du 21 mars 2007, art. 9",
        reason="camera within the incident radius",
        details={"grant_id": f"inc-1:stib-cam-{n}", "agreement_id": "stib-to-police"},
        previous_hash=b"",
        record_hash=b"",
    )


def chain(length: int = 6) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    previous = GENESIS
    for n in range(length):
        record = seal(draft(n), previous)
        records.append(record)
        previous = record.record_hash
    return records


def test_a_valid_chain_verifies() -> None:
    records = chain()
    report = verify_chain(records)
    assert report.ok
    assert report.count == len(records)
    assert report.first_break_index is None
    assert report.head == records[-1].record_hash


def test_an_empty_chain_verifies() -> None:
    report = verify_chain([])
    assert report.ok
    assert report.count == 0
    assert report.head == GENESIS


def test_the_first_record_links_to_genesis_and_each_to_its_predecessor() -> None:
    records = chain()
    assert records[0].previous_hash == GENESIS == bytes(32)
    for before, after in itertools.pairwise(records):
        assert after.previous_hash == before.record_hash
    assert all(len(r.record_hash) == 32 for r in records)


def test_the_hash_is_sha256_of_the_documented_canonical_json() -> None:
    """An auditor can recompute it without Vigie: sorted keys, no spaces, null fields out."""
    record = seal(replace(draft(0), subject_operator=None, camera_id=None), GENESIS)
    expected = (
        '{"action":"REVOKE","actor":"inspector.dupont","audit_id":"inc-1/0",'
        '"details":{"agreement_id":"stib-to-police","grant_id":"inc-1:stib-cam-0"},'
        '"incident_id":"inc-1","legal_basis":"Loi caméras du 21 mars 2007, art. 9",'
        '"operator":"police-bruxelles-ixelles","previous_hash":"' + "00" * 32 + '",'
        '"reason":"camera within the incident radius","time":1740830400000000}'
    ).encode()
    assert canonical_bytes(record) == expected
    assert record.record_hash == hashlib.sha256(expected).digest()


def test_the_hash_does_not_depend_on_the_order_of_details() -> None:
    a = replace(draft(1), details={"x": "1", "y": "2"})
    b = replace(draft(1), details={"y": "2", "x": "1"})
    assert seal(a, GENESIS).record_hash == seal(b, GENESIS).record_hash


def test_a_sealed_chain_survives_the_avro_round_trip() -> None:
    """What the audit topic and the archive hold still verifies after decoding."""
    decoded = [AUDIT_RECORD.decode(AUDIT_RECORD.encode(r)) for r in chain()]
    assert verify_chain(decoded).ok


def test_seal_refuses_a_previous_hash_that_is_not_a_sha256() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(draft(0), b"")


def test_seal_replaces_whatever_hashes_the_draft_carried() -> None:
    dirty = replace(draft(0), previous_hash=b"junk", record_hash=b"junk")
    assert seal(dirty, GENESIS) == chain(1)[0]


TAMPERED_VALUES: dict[str, Any] = {
    "audit_id": "inc-1/forged",
    "time": T0 + timedelta(days=1),
    "actor": "someone.else",
    "operator": "police-midi",
    "action": AuditAction.LIVE_VIEW,
    "subject_operator": "bruxelles-mobilite",
    "camera_id": "other-camera",
    "incident_id": "inc-2",
    "legal_basis": None,
    "reason": "nothing to see",
    "details": {"grant_id": "forged"},
    "previous_hash": bytes(range(32)),
}


def test_every_field_but_the_hash_is_covered() -> None:
    """A test below tampers with each field; none may be forgotten."""
    names = {f.name for f in fields(AuditRecord)} - {"record_hash", *UNHASHED}
    assert set(TAMPERED_VALUES) == names


@pytest.mark.parametrize("field", sorted(TAMPERED_VALUES))
@pytest.mark.parametrize("index", [0, 3, 5])
def test_tampering_with_a_field_is_found_at_that_record(field: str, index: int) -> None:
    records = chain()
    records[index] = replace(records[index], **{field: TAMPERED_VALUES[field]})
    report = verify_chain(records)
    assert not report.ok
    assert report.first_break_index == index
    assert f"record {index} " in report.reason


def test_a_forged_record_hash_is_found_at_that_record() -> None:
    records = chain()
    records[2] = replace(records[2], record_hash=bytes(32))
    report = verify_chain(records)
    assert report.first_break_index == 2
    assert "altered" in report.reason


def test_a_tampered_record_with_a_recomputed_hash_breaks_the_next_link() -> None:
    """Rewriting a record and its hash is caught at the record after it."""
    records = chain()
    forged = replace(records[2], reason="nothing to see")
    records[2] = replace(forged, record_hash=compute_hash(forged))
    report = verify_chain(records)
    assert report.first_break_index == 3


@pytest.mark.parametrize("index", [0, 2, 4])
def test_a_deleted_record_is_found_where_it_was(index: int) -> None:
    records = chain()
    del records[index]
    report = verify_chain(records)
    assert not report.ok
    assert report.first_break_index == index
    assert "removed, inserted or moved" in report.reason


def test_deleting_the_last_records_is_found_against_the_known_head() -> None:
    records = chain()
    head = records[-1].record_hash
    assert verify_chain(records, expected_head=head).ok
    report = verify_chain(records[:-2], expected_head=head)
    assert not report.ok
    assert report.first_break_index == 4
    assert "missing at the end" in report.reason


@pytest.mark.parametrize("index", [0, 2, 4])
def test_two_swapped_records_are_found_at_the_first_of_them(index: int) -> None:
    records = chain()
    records[index], records[index + 1] = records[index + 1], records[index]
    report = verify_chain(records)
    assert not report.ok
    assert report.first_break_index == index


@pytest.mark.parametrize("index", [0, 3, 6])
def test_an_inserted_record_is_found_where_it_was_inserted(index: int) -> None:
    records = chain()
    records.insert(index, seal(draft(99), bytes(range(32))))
    report = verify_chain(records)
    assert not report.ok
    assert report.first_break_index == index


def test_a_duplicated_record_is_found() -> None:
    records = chain()
    records.insert(3, records[2])
    assert verify_chain(records).first_break_index == 3


def test_a_segment_verifies_from_the_hash_it_continues() -> None:
    """A later part of a partition's chain is checked from the head of the earlier part."""
    records = chain()
    first = verify_chain(records[:3])
    assert verify_chain(records[3:], start_hash=first.head).ok
    assert verify_chain(records[3:]).first_break_index == 0


# --------------------------------------------------------------------------- signatures

SEALER_KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(SEALER_KEY.public_key()): SEALER_KEY.public_key()}


def test_the_signature_is_ed25519_over_the_documented_message() -> None:
    """An auditor checks it with any Ed25519 library: canonical bytes, then the raw hash."""
    record = sign(seal(draft(0), GENESIS), SEALER_KEY)
    assert signed_message(record) == canonical_bytes(record) + record.record_hash
    assert record.signature is not None
    SEALER_KEY.public_key().verify(record.signature, canonical_bytes(record) + record.record_hash)
    raw = SEALER_KEY.public_key().public_bytes_raw()
    assert record.signing_key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert check_signature(record, KEYS) is SignatureStatus.VALID


def test_signing_leaves_the_hash_and_the_chain_as_they_were() -> None:
    records = [sign(r, SEALER_KEY) for r in chain()]
    assert [r.record_hash for r in records] == [r.record_hash for r in chain()]
    assert verify_chain(records).ok
    decoded = [AUDIT_RECORD.decode(AUDIT_RECORD.encode(r)) for r in records]
    assert decoded == records


def test_a_record_signed_by_another_key_is_not_the_sealers() -> None:
    """A client without the sealer's key cannot make a record that passes as sealed."""
    intruder = Ed25519PrivateKey.generate()
    forged = sign(seal(draft(0), GENESIS), intruder)
    assert check_signature(forged, KEYS) is SignatureStatus.UNKNOWN_KEY
    claimed = replace(forged, signing_key_id=key_id(SEALER_KEY.public_key()))
    assert check_signature(claimed, KEYS) is SignatureStatus.INVALID


def test_a_signed_record_altered_afterwards_fails_its_signature() -> None:
    record = sign(seal(draft(0), GENESIS), SEALER_KEY)
    altered = replace(record, reason="nothing to see")
    assert check_signature(replace(altered, record_hash=compute_hash(altered)), KEYS) is (
        SignatureStatus.INVALID
    )


def test_an_old_record_is_unsigned_and_half_a_signature_is_invalid() -> None:
    record = seal(draft(0), GENESIS)
    assert check_signature(record, KEYS) is SignatureStatus.UNSIGNED
    signed = sign(record, SEALER_KEY)
    assert check_signature(replace(signed, signature=None), KEYS) is SignatureStatus.INVALID


def test_seal_drops_a_signature_the_draft_brought() -> None:
    brought = replace(draft(0), signature=b"x" * 64, signing_key_id="0" * 16)
    assert seal(brought, GENESIS) == chain(1)[0]


def test_a_published_public_key_reads_back_with_its_id() -> None:
    public = load_public_key_pem(public_key_pem(SEALER_KEY.public_key()))
    assert key_id(public) in KEYS
    with pytest.raises(ValueError, match=r"Could not deserialize|not an Ed25519"):
        load_public_key_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")

"""Hash chaining of audit records, pure: seal a draft onto a chain, verify a chain.

Each record's ``record_hash`` is SHA-256 over the canonical serialisation of every other field,
``previous_hash`` included, so altering a record breaks its own hash and removing, reordering or
inserting records breaks the link (``previous_hash``) of the record after the change. One chain
per partition of the ``audit`` topic, in offset order; its first record links to ``GENESIS``.

Canonical serialisation (reproducible without Vigie, e.g. by an auditor in any language): the
UTF-8 bytes of a JSON object with keys sorted, no whitespace (separators ``,`` and ``:``),
non-ASCII characters written as themselves, holding

- every field of the record except ``record_hash``, under its Avro field name;
- strings as JSON strings, the action as its Avro symbol (``"GRANT"``);
- ``time`` as an integer: microseconds since the Unix epoch, UTC (the Avro value);
- ``previous_hash`` as lowercase hexadecimal;
- ``details`` as a JSON object with sorted keys;
- optional fields that are null are left out.

``signature`` and ``signing_key_id`` are not part of the canonical bytes (the signature is
computed over them).

Signatures. The sealer (the policy workers' ``vigie-policy`` principal) signs every record it
seals with an Ed25519 key (RFC 8032, pure Ed25519, no pre-hash, no context) that only it holds.
The signed message is the canonical bytes above immediately followed by the 32 raw bytes of
``record_hash`` (no separator)::

    message   = canonical_bytes(record) || record_hash
    signature = Ed25519-Sign(private key, message)          # 64 bytes, in ``signature``

``signing_key_id`` names the key: the first 8 bytes of SHA-256 over the raw 32-byte Ed25519
public key, as 16 lowercase hexadecimal characters. Public keys are published as PEM
(SubjectPublicKeyInfo) files named ``<key id>.pem``: in the state folder and in the
object-locked ``vigie-audit`` bucket under ``keys/``. To check a record elsewhere: recompute
the canonical bytes and their SHA-256 (it must equal ``record_hash``), then verify the signature
over canonical bytes + record_hash with the public key whose id is ``signing_key_id``. Records
sealed before signing existed carry neither field: they still verify as a chain and are
reported as unsigned.

JSON was chosen over the Avro body because Avro's byte form depends on the schema version (an
evolved schema re-encodes an old record differently) and on the iteration order of the
``details`` map; leaving out null fields keeps old records' hashes valid when a later schema
version adds an optional field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.headers import to_epoch_us
from schemas.records import AuditRecord

__all__ = [
    "GENESIS",
    "UNHASHED",
    "ChainReport",
    "SignatureStatus",
    "canonical_bytes",
    "check_signature",
    "compute_hash",
    "key_id",
    "load_public_key_pem",
    "public_key_pem",
    "seal",
    "sign",
    "signed_message",
    "verify_chain",
]

GENESIS = bytes(32)
"""The previous_hash of the first record of a chain."""

_HASH_SIZE = 32
UNHASHED = ("signature", "signing_key_id")
"""Fields outside the canonical bytes: the signature is made over them."""


def canonical_bytes(record: AuditRecord) -> bytes:
    """The bytes `record_hash` is computed over (see the module docstring)."""
    content: dict[str, Any] = {
        "audit_id": record.audit_id,
        "time": to_epoch_us(record.time),
        "actor": record.actor,
        "operator": record.operator,
        "action": record.action.value,
        "reason": record.reason,
        "details": dict(record.details),
        "previous_hash": record.previous_hash.hex(),
    }
    optional = {
        "subject_operator": record.subject_operator,
        "camera_id": record.camera_id,
        "incident_id": record.incident_id,
        "legal_basis": record.legal_basis,
    }
    content.update({name: value for name, value in optional.items() if value is not None})
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def compute_hash(record: AuditRecord) -> bytes:
    """SHA-256 of the record's canonical bytes; its own record_hash is ignored."""
    return hashlib.sha256(canonical_bytes(record)).digest()


def seal(draft: AuditRecord, previous_hash: bytes) -> AuditRecord:
    """The record `draft` chained after a record whose hash is `previous_hash` (GENESIS first).

    Whatever hashes and signature the draft carried are replaced (a client cannot bring its
    own signature); the sealer signs the result with :func:`sign`.
    """
    if len(previous_hash) != _HASH_SIZE:
        raise ValueError(
            f"previous_hash must be {_HASH_SIZE} bytes (GENESIS for the first record),"
            f" got {len(previous_hash)}"
        )
    linked = dataclasses.replace(
        draft, previous_hash=previous_hash, record_hash=b"", signature=None, signing_key_id=None
    )
    return dataclasses.replace(linked, record_hash=compute_hash(linked))


# --------------------------------------------------------------------------- signatures


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 bytes of SHA-256 over the raw 32-byte public key, lowercase hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """The published form of a public key: PEM, SubjectPublicKeyInfo."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """A published public key; ValueError if `data` is not an Ed25519 public key in PEM."""
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        # Bad published data, like any other unreadable PEM: one exception for the caller.
        raise ValueError(f"not an Ed25519 public key: {type(key).__name__}")  # noqa: TRY004
    return key


def signed_message(record: AuditRecord) -> bytes:
    """What the sealer signs: the canonical bytes followed by the raw record_hash."""
    return canonical_bytes(record) + record.record_hash


def sign(record: AuditRecord, private_key: Ed25519PrivateKey) -> AuditRecord:
    """`record` (sealed) with the sealer's signature and key id."""
    return dataclasses.replace(
        record,
        signature=private_key.sign(signed_message(record)),
        signing_key_id=key_id(private_key.public_key()),
    )


class SignatureStatus(StrEnum):
    VALID = "valid"
    UNSIGNED = "unsigned"
    """Neither signature nor key id: sealed before signing existed (or not by the sealer)."""
    UNKNOWN_KEY = "unknown key"
    """Signed with a key that is not published: it cannot be checked."""
    INVALID = "invalid"
    """The signature does not match the record (forged, or the record was altered)."""


def check_signature(
    record: AuditRecord, public_keys: Mapping[str, Ed25519PublicKey]
) -> SignatureStatus:
    """Whether `record` carries a valid signature by one of `public_keys` (by key id)."""
    if record.signature is None and record.signing_key_id is None:
        return SignatureStatus.UNSIGNED
    if record.signature is None or record.signing_key_id is None:
        return SignatureStatus.INVALID
    key = public_keys.get(record.signing_key_id)
    if key is None:
        return SignatureStatus.UNKNOWN_KEY
    try:
        key.verify(record.signature, signed_message(record))
    except InvalidSignature:
        return SignatureStatus.INVALID
    return SignatureStatus.VALID


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of verifying a chain."""

    ok: bool
    count: int
    """Records examined."""
    first_break_index: int | None
    """Index (0-based, in the order given) of the first record that does not verify."""
    reason: str
    head: bytes
    """record_hash of the last record that verified (`start_hash` if none): the hash a later
    segment of the same chain must start from."""


def verify_chain(
    records: Sequence[AuditRecord],
    *,
    start_hash: bytes = GENESIS,
    expected_head: bytes | None = None,
) -> ChainReport:
    """Check that `records` form an intact chain starting after `start_hash`.

    Record i breaks the chain when its record_hash is not the hash of its content (it was
    altered), or its previous_hash is not the record_hash of record i - 1 (a record was
    removed, inserted or moved just before it). A forger who recomputes the hash of an inserted
    record is caught at the record after it. Removing records at the end cannot be seen from
    the records alone: pass the last hash known from elsewhere (e.g. the archived head) as
    `expected_head` to catch it.
    """
    expected_previous = start_hash
    for index, record in enumerate(records):
        label = f"record {index} ({record.audit_id!r})"
        if record.previous_hash != expected_previous:
            before = "the chain start" if index == 0 else f"record {index - 1}"
            return ChainReport(
                ok=False,
                count=len(records),
                first_break_index=index,
                reason=(
                    f"{label}: previous_hash does not match the hash of {before}: a record was"
                    " removed, inserted or moved here"
                ),
                head=expected_previous,
            )
        if record.record_hash != compute_hash(record):
            return ChainReport(
                ok=False,
                count=len(records),
                first_break_index=index,
                reason=f"{label}: record_hash does not match its content: the record was altered",
                head=expected_previous,
            )
        expected_previous = record.record_hash
    if expected_head is not None and expected_previous != expected_head:
        return ChainReport(
            ok=False,
            count=len(records),
            first_break_index=len(records),
            reason=(
                f"the chain ends at {expected_previous.hex()}, not at the expected head"
                f" {expected_head.hex()}: records are missing at the end"
            ),
            head=expected_previous,
        )
    return ChainReport(
        ok=True,
        count=len(records),
        first_break_index=None,
        reason=f"{len(records)} records verified",
        head=expected_previous,
    )

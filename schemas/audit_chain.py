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

JSON was chosen over the Avro body because Avro's byte form depends on the schema version (an
evolved schema re-encodes an old record differently) and on the iteration order of the
``details`` map; leaving out null fields keeps old records' hashes valid when a later schema
version adds an optional field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.headers import to_epoch_us
from schemas.records import AuditRecord

__all__ = ["GENESIS", "ChainReport", "canonical_bytes", "compute_hash", "seal", "verify_chain"]

GENESIS = bytes(32)
"""The previous_hash of the first record of a chain."""

_HASH_SIZE = 32


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

    Whatever hashes the draft carried are replaced.
    """
    if len(previous_hash) != _HASH_SIZE:
        raise ValueError(
            f"previous_hash must be {_HASH_SIZE} bytes (GENESIS for the first record),"
            f" got {len(previous_hash)}"
        )
    linked = dataclasses.replace(draft, previous_hash=previous_hash, record_hash=b"")
    return dataclasses.replace(linked, record_hash=compute_hash(linked))


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

"""Reading one partition of the ``audit`` topic as a chain, and judging it (pure).

One rule for what is on the topic, used by the sealer when it rebuilds a chain head and by
`vigie audit verify` (and the archive's verification): a record that does not decode as an
audit record is *junk*. Junk is reported (offset and reason) and skipped: it is not part of the
chain, the next audit record links to the last audit record before it. Skipping is safe because
junk cannot hide anything: every audit record still has to link to its predecessor, so a junk
record written in place of a removed one leaves the link broken. Junk does not fail `verify`;
it is printed so that whoever can write to the topic is asked why.

Anchors. The audit archiver writes, after each segment it archives, an *anchor* object to the
object-locked ``vigie-audit`` bucket (COMPLIANCE retention: nobody, MinIO's root included, can
change or delete it): the partition, the offset of the last audit record of the segment, and
that record's ``record_hash`` (the chain head at that offset). Kafka can lose records at the
front (``kafka-delete-records``) or have a partition recreated and written again; an anchor
catches both: the topic must still hold, at the anchored offset, the record with the anchored
hash, and the chain from the start to it must verify.

Anchor object: ``anchors/p<partition>/<offset, 12 digits>.json`` holding a JSON object with
``partition`` (int), ``offset`` (int), ``record_hash`` (lowercase hex), ``segment`` (the key of
the segment it closes) and ``anchored_at`` (ISO 8601, UTC). The latest anchor of a partition is
the one with the highest offset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.audit_chain import GENESIS, SignatureStatus, check_signature, verify_chain
from schemas.codec import AUDIT_RECORD, DecodeError
from schemas.records import AuditRecord

__all__ = [
    "ANCHOR_PREFIX",
    "Anchor",
    "Junk",
    "PartitionVerdict",
    "Trail",
    "anchor_key",
    "check_partition",
    "decode_anchor",
    "encode_anchor",
    "latest_anchor_keys",
    "read_trail",
]

ANCHOR_PREFIX = "anchors/"
_ANCHOR_KEY = re.compile(r"^anchors/p(\d+)/(\d{12})\.json$")


@dataclass(frozen=True, slots=True)
class Junk:
    """A record on the audit topic that is not an audit record."""

    offset: int
    reason: str


@dataclass(frozen=True, slots=True)
class Trail:
    """One partition of the audit topic: its audit records in offset order, and the junk."""

    records: tuple[tuple[int, AuditRecord], ...]
    junk: tuple[Junk, ...]

    @property
    def head(self) -> bytes:
        """The hash the next record must link to (GENESIS for an empty chain)."""
        return self.records[-1][1].record_hash if self.records else GENESIS


def read_trail(entries: Iterable[tuple[int, bytes | None]]) -> Trail:
    """The one rule (see the module docstring): decode each (offset, value); what does not
    decode is junk, reported and skipped."""
    records: list[tuple[int, AuditRecord]] = []
    junk: list[Junk] = []
    for offset, value in entries:
        try:
            records.append((offset, AUDIT_RECORD.decode(value or b"")))
        except DecodeError as exc:
            junk.append(Junk(offset, exc.reason))
    return Trail(tuple(records), tuple(junk))


# --------------------------------------------------------------------------- anchors


@dataclass(frozen=True, slots=True)
class Anchor:
    partition: int
    offset: int
    """Offset of the last audit record the anchor covers."""
    record_hash: bytes
    segment: str
    anchored_at: datetime


def anchor_key(partition: int, offset: int) -> str:
    return f"{ANCHOR_PREFIX}p{partition}/{offset:012d}.json"


def latest_anchor_keys(keys: Iterable[str]) -> dict[int, str]:
    """The key of the latest anchor of each partition, from the object keys."""
    best: dict[int, tuple[int, str]] = {}
    for key in keys:
        match = _ANCHOR_KEY.match(key)
        if match:
            partition, offset = int(match[1]), int(match[2])
            if offset > best.get(partition, (-1, ""))[0]:
                best[partition] = (offset, key)
    return {p: key for p, (_, key) in best.items()}


def encode_anchor(anchor: Anchor) -> bytes:
    return json.dumps(
        {
            "partition": anchor.partition,
            "offset": anchor.offset,
            "record_hash": anchor.record_hash.hex(),
            "segment": anchor.segment,
            "anchored_at": anchor.anchored_at.isoformat(),
        },
        sort_keys=True,
    ).encode()


def decode_anchor(data: bytes) -> Anchor:
    """An anchor object; ValueError if it is not one."""
    try:
        item = json.loads(data)
        return Anchor(
            partition=int(item["partition"]),
            offset=int(item["offset"]),
            record_hash=bytes.fromhex(item["record_hash"]),
            segment=str(item["segment"]),
            anchored_at=datetime.fromisoformat(item["anchored_at"]),
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an anchor: {exc}") from exc


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True, slots=True)
class PartitionVerdict:
    """What `vigie audit verify` says about one partition."""

    partition: int
    records: int
    head: bytes
    signed: int = 0
    unsigned: int = 0
    """Records sealed before signing existed (before the first signed record)."""
    key_ids: frozenset[str] = frozenset()
    junk: tuple[Junk, ...] = ()
    anchor: str = "not anchored yet"
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def _signature_problem(
    records: Sequence[tuple[int, AuditRecord]], keys: Mapping[str, Ed25519PublicKey]
) -> tuple[int, int, frozenset[str], str | None]:
    """(signed, unsigned before the first signed, key ids, first problem)."""
    signed = unsigned = 0
    ids: set[str] = set()
    for offset, record in records:
        status = check_signature(record, keys)
        if status is SignatureStatus.VALID:
            signed += 1
            ids.add(record.signing_key_id or "")
            continue
        if status is SignatureStatus.UNSIGNED and not signed:
            unsigned += 1
            continue
        reason = {
            SignatureStatus.UNSIGNED: "unsigned record after signed ones: not written by the"
            " sealer",
            SignatureStatus.UNKNOWN_KEY: f"signed with key {record.signing_key_id}, which is"
            " not published: not written by the sealer",
            SignatureStatus.INVALID: "signature does not match the record: forged or altered",
        }[status]
        return signed, unsigned, frozenset(ids), f"offset {offset}: {reason}"
    return signed, unsigned, frozenset(ids), None


def _anchor_problem(entries_offsets: Sequence[int], trail: Trail, anchor: Anchor) -> str | None:
    """Whether the topic still holds, at the anchored offset, the anchored record."""
    at = dict(trail.records).get(anchor.offset)
    if at is not None:
        if at.record_hash != anchor.record_hash:
            return (
                f"offset {anchor.offset} holds record_hash {at.record_hash.hex()}, not the"
                f" anchored {anchor.record_hash.hex()}: rewritten after anchoring"
            )
        return None
    first = entries_offsets[0] if entries_offsets else None
    last = entries_offsets[-1] if entries_offsets else None
    if first is None or last is None:
        return f"the partition is empty, but offset {anchor.offset} was anchored: records cut"
    if anchor.offset < first:
        return (
            f"the partition starts at offset {first}, after the anchored offset"
            f" {anchor.offset}: records cut (deleted) after anchoring"
        )
    if anchor.offset > last:
        return (
            f"the partition ends at offset {last}, before the anchored offset"
            f" {anchor.offset}: records cut or the partition rewritten after anchoring"
        )
    return f"offset {anchor.offset} is no longer an audit record: rewritten after anchoring"


def check_partition(
    partition: int,
    entries: Sequence[tuple[int, bytes | None]],
    public_keys: Mapping[str, Ed25519PublicKey],
    anchor: Anchor | None = None,
) -> PartitionVerdict:
    """Judge one partition of the audit topic (or its archived copy), in offset order: the
    hash chain from GENESIS, every record's signature (unsigned records are accepted only
    before the first signed one), and the latest anchor if there is one."""
    trail = read_trail(entries)
    problems: list[str] = []
    chain = verify_chain([record for _, record in trail.records])
    if not chain.ok and chain.first_break_index is not None:
        index = chain.first_break_index
        where = f"offset {trail.records[index][0]}" if index < len(trail.records) else "the end"
        problems.append(f"{where}: {chain.reason}")
    signed, unsigned, ids, bad = _signature_problem(trail.records, public_keys)
    if bad is not None:
        problems.append(bad)
    described = "not anchored yet"
    if anchor is not None:
        described = (
            f"anchored up to offset {anchor.offset} ({anchor.anchored_at:%Y-%m-%d %H:%M:%SZ})"
        )
        cut = _anchor_problem([o for o, _ in entries], trail, anchor)
        if cut is not None:
            problems.append(cut)
    return PartitionVerdict(
        partition=partition,
        records=len(trail.records),
        head=chain.head,
        signed=signed,
        unsigned=unsigned,
        key_ids=ids,
        junk=trail.junk,
        anchor=described,
        problems=tuple(problems),
    )

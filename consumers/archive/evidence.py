"""Evidence packages: everything an operator retrieved for one incident, with the hashes and a
receipt that lets a court or an ethics committee check nothing was changed afterwards.

Layout of a package folder:

    clips/<owner>/<camera>/<object key with / as _>     the video objects and their manifests
    SHA256SUMS                                          `sha256sum -c` format, every clip file
    receipt.json                                        who exported what, when, why; the
                                                        grants used; the SHA-256 of SHA256SUMS

Verification (pure apart from reading files) recomputes every hash, checks that each video
matches the SHA-256 its manifest recorded when it was archived, and that the receipt and the
sums list name the same files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minio import Minio

from consumers.archive import audit
from consumers.archive.hold import HoldResult, hold_window
from consumers.retrieval.access import latest_grants
from consumers.retrieval.service import RetrievalRefused, read_grants, retrieve
from runtime.connection import Connection, as_minio_service, minio_client
from schemas.records import AuditAction, Grant, GrantStatus
from schemas.security import MINIO_EVIDENCE

SUMS = "SHA256SUMS"
RECEIPT = "receipt.json"
CLIPS = "clips"


@dataclass(frozen=True, slots=True)
class EvidenceWindow:
    """One camera over one time window, as an archive grant of the incident allows it."""

    grant_id: str
    owner: str
    camera_id: str
    start: datetime
    end: datetime


def incident_windows(
    grants: Iterable[Grant], incident_id: str, requester: str | None
) -> list[EvidenceWindow]:
    """The camera windows an incident's grants covered (pure): those with archive rights of
    `requester`, or with requester None every camera the incident reached (what a legal hold
    must preserve). A revoked grant still covers what it allowed before its revocation:
    evidence of that period stays exportable, nothing after it."""
    windows = []
    for g in grants:
        if g.incident_id != incident_id:
            continue
        if requester is not None and (g.grantee_operator != requester or not g.archive):
            continue
        end = g.valid_until
        if g.status is GrantStatus.REVOKED and g.revoked_at is not None:
            end = min(end, g.revoked_at)
        if end > g.valid_from:
            windows.append(
                EvidenceWindow(g.grant_id, g.owner_operator, g.camera_id, g.valid_from, end)
            )
    return sorted(windows, key=lambda w: (w.owner, w.camera_id, w.start))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sums_text(hashes: Mapping[str, str]) -> str:
    """`sha256sum -c` format, sorted by path so the same package gives the same text."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(hashes.items()))


def write_sums_and_receipt(package: Path, receipt: dict[str, Any]) -> dict[str, Any]:
    """Hash every clip file, write SHA256SUMS and the receipt (which seals SHA256SUMS)."""
    hashes = {
        str(p.relative_to(package)): sha256_file(p)
        for p in sorted((package / CLIPS).rglob("*"))
        if p.is_file()
    }
    text = sums_text(hashes)
    (package / SUMS).write_text(text)
    sealed = {
        **receipt,
        "files": [{"path": path, "sha256": digest} for path, digest in sorted(hashes.items())],
        "sha256sums_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    (package / RECEIPT).write_text(json.dumps(sealed, indent=2, sort_keys=True))
    return sealed


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.checked > 0


def _parse_sums(text: str) -> dict[str, str]:
    sums = {}
    for line in text.splitlines():
        digest, _, path = line.partition("  ")
        if len(digest) != 64 or not path:
            raise ValueError(f"malformed {SUMS} line: {line[:80]!r}")
        sums[path] = digest
    return sums


def verify_package(package: Path) -> VerifyReport:
    report = VerifyReport()
    try:
        sums_raw = (package / SUMS).read_text()
        receipt = json.loads((package / RECEIPT).read_text())
        sums = _parse_sums(sums_raw)
    except (OSError, ValueError) as exc:
        report.problems.append(f"not a readable evidence package: {exc}")
        return report
    if hashlib.sha256(sums_raw.encode()).hexdigest() != receipt.get("sha256sums_sha256"):
        report.problems.append(f"{SUMS} differs from the one the receipt sealed")
    listed = {f["path"]: f["sha256"] for f in receipt.get("files", [])}
    if listed != sums:
        report.problems.append(f"the receipt and {SUMS} do not list the same files and hashes")
    present = {str(p.relative_to(package)) for p in (package / CLIPS).rglob("*") if p.is_file()}
    for extra in sorted(present - sums.keys()):
        report.problems.append(f"{extra}: in the package but not in {SUMS}")
    actual: dict[str, str] = {}
    for path, digest in sorted(sums.items()):
        file = package / path
        if not file.is_file():
            report.problems.append(f"{path}: missing")
            continue
        actual[path] = sha256_file(file)
        report.checked += 1
        if actual[path] != digest:
            report.problems.append(f"{path}: SHA-256 differs from {SUMS} (file altered)")
    report.problems += _manifest_problems(package, actual)
    return report


def _manifest_problems(package: Path, actual: Mapping[str, str]) -> list[str]:
    """Each video must still be the object its manifest described when it was archived."""
    problems = []
    for path in actual:
        if not path.endswith(".json"):
            continue
        try:
            manifest = json.loads((package / path).read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: unreadable manifest ({exc})")
            continue
        video = str(Path(path).parent / manifest.get("video_key", "").replace("/", "_"))
        if video not in actual:
            problems.append(f"{path}: its video {video} is not in the package")
        elif actual[video] != manifest.get("video_sha256"):
            problems.append(f"{video}: does not match the SHA-256 recorded at archiving")
    return problems


async def hold_incident(
    conn: Connection,
    *,
    incident_id: str,
    actor: str,
    reason: str,
    release: bool = False,
    client: Minio | None = None,
    actor_operator: str | None = None,
) -> list[HoldResult]:
    """Put (or lift) a legal hold on every chunk of every camera the incident's grants reached,
    over the window each grant covered; audited per owner and window, before each hold.
    `client`: the evidence user's (default: from the state folder)."""
    grants = latest_grants(await read_grants(conn.kafka_bootstrap)).values()
    windows = incident_windows(grants, incident_id, None)
    legal = {g.grant_id: g.legal_basis for g in grants}
    client = client or minio_client(as_minio_service(conn, MINIO_EVIDENCE))
    return [
        await hold_window(
            conn.kafka_bootstrap,
            client,
            operator=w.owner,
            cameras=[w.camera_id],
            start=w.start,
            end=w.end,
            actor=actor,
            reason=reason,
            incident_id=incident_id,
            legal_basis=legal.get(w.grant_id),
            release=release,
            actor_operator=actor_operator,
        )
        for w in windows
    ]


async def export_incident(
    conn: Connection,
    state_dir: Path,
    *,
    incident_id: str,
    requester: str,
    actor: str,
    reason: str,
    out_root: Path,
) -> Path:
    """Fetch every archive window the requester was granted for the incident into a new
    package folder, seal it, and audit the export. RetrievalRefused if there is nothing the
    requester may export."""
    by_id = latest_grants(await read_grants(conn.kafka_bootstrap))
    grants = by_id.values()
    windows = incident_windows(grants, incident_id, requester)
    if not windows:
        raise RetrievalRefused(f"{requester} holds no archive grant for incident {incident_id}")
    exported_at = datetime.now(UTC)
    package = out_root / f"{incident_id}-{exported_at:%Y%m%dT%H%M%SZ}"
    for w in windows:
        await retrieve(
            conn,
            state_dir,
            requester=requester,
            owner=w.owner,
            camera_id=w.camera_id,
            start=w.start,
            end=w.end,
            actor=actor,
            reason=f"evidence export for incident {incident_id}: {reason}",
            out_dir=package / CLIPS / w.owner / w.camera_id,
            grants=by_id,
        )
    legal_bases = sorted({g.legal_basis for g in grants if g.incident_id == incident_id})
    receipt = write_sums_and_receipt(
        package,
        {
            "incident_id": incident_id,
            "exported_by": actor,
            "operator": requester,
            "exported_at": exported_at.isoformat(),
            "reason": reason,
            "legal_basis": legal_bases,
            "windows": [
                {
                    "grant_id": w.grant_id,
                    "owner": w.owner,
                    "camera_id": w.camera_id,
                    "from": w.start.isoformat(),
                    "to": w.end.isoformat(),
                }
                for w in windows
            ],
        },
    )
    await audit.publish(
        conn.kafka_bootstrap,
        [
            audit.draft(
                actor=actor,
                operator=requester,
                action=AuditAction.EXPORT,
                reason=reason,
                incident_id=incident_id,
                legal_basis="; ".join(legal_bases) or None,
                details={
                    "package": package.name,
                    "files": str(len(receipt["files"])),
                    "sha256sums_sha256": receipt["sha256sums_sha256"],
                },
            )
        ],
    )
    return package

"""The audit report an ethics committee reads, pure: from audit records to text.

Who saw which cameras of whom, when, and on what basis: live viewing periods (forwarding start
to stop), the grants and revocations behind them, the incidents, and every refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.records import AuditAction, AuditRecord

__all__ = ["ViewingPeriod", "render_report", "viewing_periods"]


@dataclass(frozen=True, slots=True)
class ViewingPeriod:
    """An operator received the live frames of another operator's camera."""

    grantee: str
    owner: str
    camera_id: str
    incident_id: str
    legal_basis: str
    start: datetime
    end: datetime | None
    """None: still forwarded at the end of the records."""
    stop_reason: str | None


def viewing_periods(records: Iterable[AuditRecord]) -> list[ViewingPeriod]:
    """Pair FORWARD_START and FORWARD_STOP records of each grant, in start order."""
    open_: dict[str, AuditRecord] = {}
    periods: list[ViewingPeriod] = []

    def period(start: AuditRecord, stop: AuditRecord | None) -> ViewingPeriod:
        return ViewingPeriod(
            grantee=start.operator,
            owner=start.subject_operator or "?",
            camera_id=start.camera_id or "?",
            incident_id=start.incident_id or "?",
            legal_basis=start.legal_basis or "?",
            start=start.time,
            end=stop.time if stop else None,
            stop_reason=stop.reason if stop else None,
        )

    for record in records:
        grant_id = record.details.get("grant_id", record.audit_id)
        if record.action is AuditAction.FORWARD_START:
            open_.setdefault(grant_id, record)
        elif record.action is AuditAction.FORWARD_STOP and grant_id in open_:
            periods.append(period(open_.pop(grant_id), record))
    periods += [period(start, None) for start in open_.values()]
    return sorted(periods, key=lambda p: (p.start, p.camera_id))


def _t(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def render_report(records: Iterable[AuditRecord], start: datetime, end: datetime) -> str:
    """The report of the records whose time is in [start, end)."""
    chosen = sorted((r for r in records if start <= r.time < end), key=lambda r: r.time)
    lines = [f"Vigie audit report {_t(start)} .. {_t(end)}: {len(chosen)} audit records", ""]

    lines.append("Live viewing (who saw which cameras of whom, when, on what basis):")
    periods = viewing_periods(chosen)
    for p in periods:
        until = _t(p.end) if p.end else "still running"
        lines.append(
            f"  {p.grantee} saw camera {p.camera_id} of {p.owner} from {_t(p.start)} to {until}"
            f" for incident {p.incident_id}, legal basis: {p.legal_basis}"
        )
    if not periods:
        lines.append("  none")

    sections = [
        ("Grants", (AuditAction.GRANT,)),
        ("Revocations", (AuditAction.REVOKE,)),
        (
            "Incidents",
            (
                AuditAction.INCIDENT_OPENED,
                AuditAction.INCIDENT_UPDATED,
                AuditAction.INCIDENT_CLOSED,
            ),
        ),
        (
            "Views, playbacks, exports and holds by people",
            (
                AuditAction.LIVE_VIEW,
                AuditAction.ARCHIVE_RETRIEVAL,
                AuditAction.EXPORT,
                AuditAction.LEGAL_HOLD,
                AuditAction.LEGAL_HOLD_RELEASE,
            ),
        ),
        ("Refusals", (AuditAction.REFUSAL,)),
    ]
    for title, actions in sections:
        lines += ["", f"{title}:"]
        matching = [r for r in chosen if r.action in actions]
        for r in matching:
            camera = f" camera {r.camera_id} of {r.subject_operator}" if r.camera_id else ""
            incident = f", incident {r.incident_id}" if r.incident_id else ""
            basis = f", legal basis: {r.legal_basis}" if r.legal_basis else ""
            agreement = r.details.get("agreement_id")
            agreement_text = f", agreement {agreement}" if agreement else ""
            lines.append(
                f"  {_t(r.time)} {r.action.value} for {r.operator}{camera}{incident},"
                f" by {r.actor}: {r.reason}{basis}{agreement_text}"
            )
        if not matching:
            lines.append("  none")
    return "\n".join(lines)

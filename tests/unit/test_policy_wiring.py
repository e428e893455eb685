"""The pure pieces the policy worker adds around the core: wire commands to core commands,
forwarding audit records that every worker derives identically, the ethics committee report."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.audit_report import render_report, viewing_periods
from schemas.config import IncidentKind
from schemas.incident_commands import close_record, open_record, update_record
from schemas.records import AuditAction, Grant, GrantStatus, IncidentAction, IncidentCommand
from streams.commands import BadCommand, to_command
from streams.forwarding import forwarding_audit
from streams.incidents import CloseIncident, OpenIncident, UpdateIncident

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _open(**changes: Any) -> IncidentCommand:
    record = open_record(
        incident_id="inc-1", operator="police-a", kind=IncidentKind.PURSUIT, latitude=50.85,
        longitude=4.35, radius_m=200.0, legal_basis="art. 25", requested_by="alice", at=T0,
    )  # fmt: skip
    return replace(record, **changes)


SERVER_TIME = T0 + timedelta(seconds=3)


def test_open_record_becomes_an_open_command_decided_at_the_server_time() -> None:
    """A redelivered command decides the same: its time is the broker's append time and its
    seq its offset, both stable; the client's requested_at is only kept as a claim."""
    command = to_command(_open(requested_at=T0 + timedelta(days=365)), at=SERVER_TIME, seq=7)
    assert isinstance(command, OpenIncident)
    assert command.at == SERVER_TIME
    assert command.seq == 7
    assert command.claimed_at == T0 + timedelta(days=365)
    assert command.kind is IncidentKind.PURSUIT
    assert (command.position.lat, command.position.lon) == (50.85, 4.35)


def test_missing_legal_basis_passes_through_to_be_refused_by_the_core() -> None:
    command = to_command(_open(legal_basis=None), at=SERVER_TIME, seq=0)
    assert isinstance(command, OpenIncident)
    assert command.legal_basis is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"latitude": 95.0}, "bad position"), ({"radius_m": None}, "radius")],
)
def test_open_that_says_nothing_usable_is_a_bad_command(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(BadCommand, match=reason):
        to_command(_open(**changes), at=SERVER_TIME, seq=0)


def test_update_and_close_records() -> None:
    update = update_record(
        incident_id="inc-1", operator="", latitude=50.86, longitude=4.36, radius_m=None,
        requested_by="bob", at=T0,
    )  # fmt: skip
    assert update.action is IncidentAction.UPDATE
    command = to_command(update, at=SERVER_TIME, seq=1)
    assert isinstance(command, UpdateIncident)
    assert command.radius_m is None
    close = to_command(
        close_record(incident_id="inc-1", operator="", requested_by="bob", at=T0),
        at=SERVER_TIME,
        seq=2,
    )
    assert isinstance(close, CloseIncident)


def _grant(status: GrantStatus, revoked_at: datetime | None = None) -> Grant:
    return Grant(
        grant_id="inc-1:cam-1", incident_id="inc-1", camera_id="cam-1", owner_operator="stib",
        grantee_operator="police-a", live=True, archive=False, valid_from=T0,
        valid_until=T0 + timedelta(hours=1), legal_basis="art. 25", agreement_id="ag-1",
        granted_by="alice", status=status, revoked_at=revoked_at, reason="incident closed",
    )  # fmt: skip


def test_forwarding_audit_ids_are_the_same_for_every_worker() -> None:
    """Every worker sees the same grant change; the sealer writes its audit record once."""
    start = forwarding_audit(_grant(GrantStatus.ACTIVE))
    assert start == forwarding_audit(_grant(GrantStatus.ACTIVE))
    assert start.action is AuditAction.FORWARD_START
    stop = forwarding_audit(_grant(GrantStatus.REVOKED, T0 + timedelta(minutes=5)))
    assert stop.action is AuditAction.FORWARD_STOP
    assert stop.time == T0 + timedelta(minutes=5)
    assert stop.audit_id != start.audit_id


def test_report_pairs_forwarding_into_viewing_periods() -> None:
    start = forwarding_audit(_grant(GrantStatus.ACTIVE))
    stop = forwarding_audit(_grant(GrantStatus.REVOKED, T0 + timedelta(minutes=5)))
    (period,) = viewing_periods([start, stop])
    assert (period.grantee, period.owner, period.camera_id) == ("police-a", "stib", "cam-1")
    assert period.end == T0 + timedelta(minutes=5)
    text = render_report([start, stop], T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert "police-a saw camera cam-1 of stib from 2026-03-01T12:00:00+00:00" in text
    assert "legal basis: art. 25" in text

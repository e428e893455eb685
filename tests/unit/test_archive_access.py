"""Who may retrieve archived images (pure): deny by default, own cameras always, another
operator's only through active archive grants that cover the whole requested window."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from consumers.retrieval.access import Decision, archive_access, latest_grants, touches
from schemas.records import Grant, GrantStatus

T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def grant(grant_id: str = "g1", **changes: object) -> Grant:
    base = Grant(
        grant_id=grant_id,
        incident_id="inc-1",
        camera_id="stib-c1",
        owner_operator="stib",
        grantee_operator="police-x",
        live=True,
        archive=True,
        valid_from=T,
        valid_until=T + 2 * H,
        legal_basis="art. 46",
        agreement_id="agr-1",
        granted_by="policy",
        status=GrantStatus.ACTIVE,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def ask(
    *grants: Grant, start: datetime = T, end: datetime = T + H, requester: str = "police-x"
) -> Decision:
    return archive_access(
        requester=requester, owner="stib", camera_id="stib-c1", start=start, end=end, grants=grants
    )


def test_an_operator_always_reads_its_own_cameras() -> None:
    assert ask(requester="stib").allowed


def test_another_operator_without_any_grant_is_refused_with_the_reason() -> None:
    decision = ask()
    assert not decision.allowed
    assert "no archive grant" in decision.reason


def test_an_active_archive_grant_covering_the_window_allows_it() -> None:
    decision = ask(grant())
    assert decision.allowed
    assert decision.grant_ids == ("g1",)


def test_live_only_revoked_foreign_or_other_camera_grants_refuse() -> None:
    assert not ask(grant(archive=False)).allowed
    assert not ask(grant(status=GrantStatus.REVOKED)).allowed
    assert not ask(grant(grantee_operator="police-y")).allowed
    assert not ask(grant(camera_id="stib-c2")).allowed
    assert not ask(grant(owner_operator="roads")).allowed


def test_a_grant_must_cover_the_whole_window_valid_until_exclusive() -> None:
    assert not ask(grant(), start=T + H, end=T + 3 * H).allowed
    assert not ask(grant(), start=T - H, end=T + H).allowed
    assert ask(grant(), start=T, end=T + 2 * H).allowed
    assert not ask(grant(), start=T + 2 * H, end=T + 3 * H).allowed


def test_consecutive_grants_together_cover_a_window() -> None:
    first = grant("g1", valid_until=T + H)
    second = grant("g2", valid_from=T + H, valid_until=T + 3 * H)
    decision = ask(second, first, start=T, end=T + 3 * H)
    assert decision.allowed
    assert decision.grant_ids == ("g1", "g2")
    gap = grant("g3", valid_from=T + H + timedelta(minutes=1), valid_until=T + 3 * H)
    assert not ask(first, gap, start=T, end=T + 3 * H).allowed


def test_the_last_record_of_a_grant_wins_and_a_tombstone_removes_it() -> None:
    revoked = grant(status=GrantStatus.REVOKED)
    assert latest_grants([("g1", grant()), ("g1", revoked)]) == {"g1": revoked}
    assert latest_grants([("g1", grant()), ("g1", None)]) == {}
    assert not ask(*latest_grants([("g1", grant()), ("g1", revoked)]).values()).allowed


def test_a_revoked_grant_still_covers_the_period_before_its_revocation() -> None:
    """Evidence of a closed incident stays reachable for the period the grant was in force."""
    revoked = grant(status=GrantStatus.REVOKED, revoked_at=T + H / 2)
    assert ask(revoked, start=T, end=T + H / 2).allowed
    assert not ask(revoked, start=T, end=T + H).allowed
    assert not ask(revoked, start=T + H, end=T + 2 * H).allowed


def test_a_grant_touching_a_window_only_lets_the_chunks_there_be_looked_up() -> None:
    """Looking up which chunks lie near a granted moment is allowed; handing one out still
    needs the grant to cover every frame of it."""

    def near(*grants: Grant, start: datetime, end: datetime) -> bool:
        return touches(requester="police-x", owner="stib", camera_id="stib-c1",
                       start=start, end=end, grants=grants)  # fmt: skip

    assert near(grant(), start=T - H, end=T + timedelta(minutes=1))
    assert not ask(grant(), start=T - H, end=T + timedelta(minutes=1)).allowed
    assert not near(grant(), start=T - H, end=T)  # ends where the grant starts
    assert not near(grant(archive=False), start=T, end=T + H)
    assert not near(start=T, end=T + H)

"""Incidents and their grants: who gets which cameras of whom, when it ends, and what is recorded.

Small hand-made configurations pin each rule down; the Brussels example configuration checks the
rules give what its agreements promise on real places.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import vigie
from schemas.audit_chain import GENESIS, seal, verify_chain
from schemas.codec import AUDIT_RECORD, GRANT, INCIDENT_EVENT
from schemas.config import IncidentKind, Position, VigieConfig, load, parse
from schemas.records import AuditAction, GrantStatus, IncidentEventKind
from schemas.records import IncidentKind as RecordIncidentKind
from streams.geometry import EARTH_RADIUS_M
from streams.incidents import (
    DEFAULT_GRACE_S,
    POLICY_ACTOR,
    CloseIncident,
    Command,
    Decision,
    Incident,
    IncidentStatus,
    OpenIncident,
    UpdateIncident,
    desired_grants,
    grant_id,
    handle,
    next_deadline,
    reconcile,
    tick,
)
from streams.incidents.audience import audience

EXAMPLE = Path(vigie.__file__).parent / "examples" / "brussels.yaml"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ORIGIN = Position(lat=50.85, lon=4.35)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


def offset(east_m: float, north_m: float, origin: Position = ORIGIN) -> Position:
    lat = origin.lat + north_m / METRES_PER_DEGREE_LAT
    lon = origin.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(origin.lat)))
    return Position(lat=lat, lon=lon)


def cam(
    camera_id: str, operator: str, at: Position, zone: str = "centre", tags: Iterable[str] = ()
) -> dict[str, Any]:
    return {
        "id": camera_id,
        "operator": operator,
        "name": camera_id,
        "position": at.model_dump(),
        "zone": zone,
        "tags": list(tags),
        "source_kind": "synthetic",
        "source": "synthetic://street",
        "profile": "sd",
    }


def agreement(
    agreement_id: str,
    owner: str,
    grantee: str,
    kinds: Iterable[str],
    *,
    minutes: int = 120,
    live: bool = True,
    archive: bool = True,
    zones: Iterable[str] = (),
    tags: Iterable[str] = (),
) -> dict[str, Any]:
    return {
        "id": agreement_id,
        "owner": owner,
        "grantee": grantee,
        "zones": list(zones),
        "tags": list(tags),
        "incident_kinds": list(kinds),
        "max_duration_minutes": minutes,
        "live": live,
        "archive": archive,
        "legal_basis": f"convention {agreement_id}",
    }


def city(extra_agreements: Iterable[dict[str, Any]] = ()) -> VigieConfig:
    """Police, transit, roads and port around one square; a metro line runs west to east.

    Within 150 m of the square: the police's own camera, a transit metro platform (80 m E), a
    transit depot without the metro tag (60 m N), a roads crossing (100 m W) and a roads camera
    of another zone (120 m SW). Further: roads-far (400 m S), the metro stations west (500 m W),
    east-1 (500 m E) and east-2 (1 km E).
    """
    return parse(
        {
            "region": "Test",
            "operators": [
                {"id": "police", "name": "Police", "kind": "police"},
                {"id": "transit", "name": "Transit", "kind": "public_transport"},
                {"id": "roads", "name": "Roads", "kind": "roads"},
                {"id": "port", "name": "Port", "kind": "port"},
            ],
            "profiles": [{"name": "sd", "width": 640, "height": 360, "max_fps": 5.0}],
            "cameras": [
                cam("police-square", "police", ORIGIN, tags=["metro-entrance"]),
                cam("transit-platform", "transit", offset(80, 0), tags=["metro"]),
                cam("transit-depot", "transit", offset(0, 60), tags=["depot"]),
                cam("roads-crossing", "roads", offset(-100, 0), tags=["traffic"]),
                cam("roads-ring", "roads", offset(-85, -85), zone="ring"),
                cam("roads-far", "roads", offset(0, -400)),
                cam("transit-west", "transit", offset(-500, 0), tags=["metro"]),
                cam("transit-east-1", "transit", offset(500, 0), tags=["metro"]),
                cam("transit-east-2", "transit", offset(1000, 0), tags=["metro"]),
            ],
            "agreements": [
                agreement("transit-to-police", "transit", "police", ["pursuit"], tags=["metro"]),
                agreement(
                    "roads-to-police",
                    "roads",
                    "police",
                    ["pursuit", "accident"],
                    minutes=60,
                    archive=False,
                    zones=["centre"],
                ),
                agreement(
                    "police-to-transit",
                    "police",
                    "transit",
                    ["pursuit"],
                    minutes=30,
                    archive=False,
                    tags=["metro-entrance"],
                ),
                *extra_agreements,
            ],
            "links": [
                {"from_camera": "transit-west", "to_camera": "transit-platform", "via": "metro"},
                {"from_camera": "transit-platform", "to_camera": "transit-east-1", "via": "metro"},
                {"from_camera": "transit-east-1", "to_camera": "transit-east-2", "via": "metro"},
            ],
        }
    )


CITY = city()


OPENER = "police"


def open_cmd(**overrides: Any) -> OpenIncident:
    values: dict[str, Any] = {
        "incident_id": "inc-1",
        "operator": "police",
        "kind": IncidentKind.PURSUIT,
        "position": ORIGIN,
        "radius_m": 150.0,
        "legal_basis": "PV 2025/123, flagrant délit",
        "requested_by": "inspector.dupont",
        "at": T0,
    }
    values.update(overrides)
    if values["at"].tzinfo is not None:
        values.setdefault("seq", _seq((values["at"] - T0).total_seconds(), 0))
    return OpenIncident(**values)


def _seq(seconds: float, rank: int) -> int:
    """A command's offset: later commands of these tests come later in the log (an open, an
    update and a close at the same time in that order)."""
    return int(seconds * 1000) * 4 + rank


def update_cmd(seconds: float, position: Position | None, **overrides: Any) -> UpdateIncident:
    values: dict[str, Any] = {
        "incident_id": "inc-1",
        "operator": OPENER,
        "position": position,
        "requested_by": "inspector.dupont",
        "at": T0 + timedelta(seconds=seconds),
        "seq": _seq(seconds, 1),
    }
    values.update(overrides)
    return UpdateIncident(**values)


def close_cmd(seconds: float) -> CloseIncident:
    return CloseIncident(
        incident_id="inc-1",
        operator=OPENER,
        requested_by="inspector.dupont",
        at=T0 + timedelta(seconds=seconds),
        seq=_seq(seconds, 2),
    )


def opened(config: VigieConfig = CITY, **overrides: Any) -> Decision:
    decision = handle(None, open_cmd(**overrides), config)
    assert decision.refusal is None, decision.refusal
    return decision


def state(decision: Decision) -> Incident:
    assert decision.incident is not None
    return decision.incident


def cameras(decision: Decision, status: GrantStatus) -> set[str]:
    return {g.camera_id for g in decision.grants if g.status is status}


def granted(decision: Decision) -> set[str]:
    return cameras(decision, GrantStatus.ACTIVE)


def revoked(decision: Decision) -> set[str]:
    return cameras(decision, GrantStatus.REVOKED)


def active(incident: Incident) -> set[str]:
    return set(incident.grants)


# --------------------------------------------------------------------------- opening


def test_open_grants_exactly_the_matching_cameras_of_two_other_operators() -> None:
    """In the radius: the transit metro platform and the roads crossing. Not the police's own
    camera, not the depot (no metro tag), not the roads camera of another zone, not what lies
    outside the radius."""
    decision = opened()
    assert granted(decision) == {"transit-platform", "roads-crossing"}
    assert revoked(decision) == set()
    assert active(state(decision)) == {"transit-platform", "roads-crossing"}


def test_an_incident_reaches_its_operator_and_the_owners_of_the_cameras_it_shares() -> None:
    """The port shares nothing in this pursuit: it never hears of it. Transit and roads do,
    from the opening on; once the incident leaves their cameras behind and closes, the
    revocations still reach them."""
    owner = {"transit-platform": "transit", "roads-crossing": "roads"}
    decision = opened()
    after = state(decision)
    for event in decision.events:
        heard = audience(event, None, after, decision.grants)
        if event.camera_id:  # one camera's sharing: its owner only, not the other owners
            assert heard == {"police", owner[event.camera_id]}
        else:
            assert heard == {"police", "transit", "roads"}
    closed = handle(after, close_cmd(60), CITY)
    for event in closed.events:
        heard = audience(event, after, closed.incident, closed.grants)
        if event.camera_id:
            assert heard == {"police", owner[event.camera_id]}
        else:
            assert heard == {"police", "transit", "roads"}
    lonely = opened(position=offset(0, 3000))
    assert lonely.grants == ()
    assert audience(lonely.events[0], None, lonely.incident, ()) == {"police"}


def test_an_accident_reaches_every_operator_but_a_refusal_only_the_requester() -> None:
    everyone = {"police", "transit", "roads", "port"}
    decision = opened(kind=IncidentKind.ACCIDENT)
    for event in decision.events:
        assert audience(event, None, decision.incident, decision.grants, everyone) == everyone
    refused = handle(None, open_cmd(operator="port", kind=IncidentKind.PURSUIT), CITY)
    assert refused.refusal is not None
    assert audience(refused.events[0], None, None, (), everyone) == {"port"}


def test_a_grant_carries_the_agreement_terms_and_the_incident_justification() -> None:
    grants = {g.camera_id: g for g in opened().grants}
    transit, roads = grants["transit-platform"], grants["roads-crossing"]
    assert transit.grant_id == grant_id("inc-1", "transit-platform", T0)
    assert transit.grant_id == "inc-1:transit-platform:20250301T120000000000Z"
    assert transit.incident_id == "inc-1"
    assert (transit.owner_operator, transit.grantee_operator) == ("transit", "police")
    assert (transit.live, transit.archive) == (True, True)
    assert transit.valid_from == T0
    assert transit.valid_until == T0 + timedelta(minutes=120)
    assert transit.legal_basis == "PV 2025/123, flagrant délit"
    assert transit.agreement_id == "transit-to-police"
    assert transit.granted_by == "inspector.dupont"
    assert transit.status is GrantStatus.ACTIVE
    assert transit.revoked_at is None
    assert (roads.live, roads.archive) == (True, False)
    assert roads.valid_until == T0 + timedelta(minutes=60)
    assert roads.agreement_id == "roads-to-police"


def test_several_matching_agreements_merge_their_rights() -> None:
    """Live if any is live, archive if any is, the longest expiry; both agreements named."""
    config = city(
        [
            agreement(
                "roads-archive-to-police",
                "roads",
                "police",
                ["pursuit"],
                minutes=240,
                live=False,
                archive=True,
            )
        ]
    )
    roads = next(g for g in opened(config).grants if g.camera_id == "roads-crossing")
    assert (roads.live, roads.archive) == (True, True)
    assert roads.valid_until == T0 + timedelta(minutes=240)
    assert roads.agreement_id == "roads-archive-to-police,roads-to-police"


def test_the_kind_of_incident_selects_the_agreements() -> None:
    """An accident opens the roads cameras only: transit shares for pursuits alone."""
    decision = opened(kind=IncidentKind.ACCIDENT)
    assert granted(decision) == {"roads-crossing"}


def test_open_emits_the_opened_event_then_one_per_camera() -> None:
    decision = opened()
    kinds = [e.kind for e in decision.events]
    assert kinds[0] is IncidentEventKind.OPENED
    assert kinds[1:] == [IncidentEventKind.CAMERA_GRANTED] * 2
    head = decision.events[0]
    assert head.incident_kind is RecordIncidentKind.PURSUIT
    assert (head.latitude, head.longitude, head.radius_m) == (ORIGIN.lat, ORIGIN.lon, 150.0)
    assert head.requested_by == "inspector.dupont"
    assert head.legal_basis == "PV 2025/123, flagrant délit"
    assert {e.camera_id for e in decision.events[1:]} == {"transit-platform", "roads-crossing"}


def test_every_grant_is_audited_with_who_what_when_why() -> None:
    decision = opened()
    actions = [a.action for a in decision.audit]
    assert actions == [AuditAction.INCIDENT_OPENED, AuditAction.GRANT, AuditAction.GRANT]
    record = next(a for a in decision.audit if a.camera_id == "transit-platform")
    assert record.actor == "inspector.dupont"  # who
    assert record.operator == "police"
    assert record.subject_operator == "transit"  # what: whose camera
    assert record.time == T0  # when
    assert record.incident_id == "inc-1"  # why
    assert record.legal_basis == "PV 2025/123, flagrant délit"
    assert record.details["agreement_id"] == "transit-to-police"
    assert record.details["agreement_legal_basis"] == "convention transit-to-police"
    assert record.details["grant_id"] == grant_id("inc-1", "transit-platform", T0)
    assert record.details["live"] == "true"
    assert "radius" in record.reason
    assert len({a.audit_id for a in decision.audit}) == len(decision.audit)


def test_every_record_fits_the_avro_contract() -> None:
    """What the agent sends is encodable, and the audit drafts chain and verify once sealed."""
    decisions = [opened(), *run([update_cmd(10, offset(400, 0)), close_cmd(20)])]
    previous = GENESIS
    sealed = []
    for decision in decisions:
        for g in decision.grants:
            assert GRANT.decode(GRANT.encode(g)) == g
        for event in decision.events:
            assert INCIDENT_EVENT.decode(INCIDENT_EVENT.encode(event)) == event
        for draft in decision.audit:
            record = seal(draft, previous)
            previous = record.record_hash
            sealed.append(AUDIT_RECORD.decode(AUDIT_RECORD.encode(record)))
    assert verify_chain(sealed).ok


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"operator": "police-unknown"}, "unknown operator"),
        ({"legal_basis": None}, "missing legal basis"),
        ({"legal_basis": "   "}, "missing legal basis"),
        ({"kind": IncidentKind.DEMONSTRATION}, "no sharing agreement allows demonstration"),
        ({"operator": "port"}, "no sharing agreement allows pursuit incidents for port"),
        ({"radius_m": 9.9}, "out of bounds"),
        ({"radius_m": 5000.1}, "out of bounds"),
        ({"radius_m": math.nan}, "out of bounds"),
        ({"radius_m": math.inf}, "out of bounds"),
        ({"requested_by": " "}, "missing requester"),
        ({"incident_id": ""}, "missing incident id"),
    ],
)
def test_an_invalid_open_is_refused_with_the_reason_and_grants_nothing(
    overrides: dict[str, Any], reason: str
) -> None:
    decision = handle(None, open_cmd(**overrides), CITY)
    assert decision.refusal is not None
    assert reason in decision.refusal.reason
    assert decision.incident is None
    assert decision.grants == ()
    (event,) = decision.events
    assert event.kind is IncidentEventKind.REFUSED
    assert event.reason == decision.refusal.reason
    (record,) = decision.audit
    assert record.action is AuditAction.REFUSAL
    assert record.reason == decision.refusal.reason
    assert record.actor == open_cmd(**overrides).requested_by
    assert INCIDENT_EVENT.decode(INCIDENT_EVENT.encode(event)) == event


@pytest.mark.parametrize("radius", [10.0, 5000.0])
def test_radius_bounds_are_inclusive(radius: float) -> None:
    assert opened(radius_m=radius).refusal is None


def test_an_update_of_an_unknown_incident_is_refused() -> None:
    decision = handle(None, update_cmd(5, offset(10, 0)), CITY)
    assert decision.refusal is not None
    assert "unknown incident" in decision.refusal.reason
    assert decision.grants == ()


def test_an_update_or_close_of_a_closed_incident_is_refused() -> None:
    closed = handle(state(opened()), close_cmd(10), CITY)
    for command in (update_cmd(20, offset(400, 0)), close_cmd(30)):
        decision = handle(state(closed), command, CITY)
        assert decision.refusal is not None
        assert "is closed" in decision.refusal.reason
        assert decision.grants == ()
        assert decision.incident == closed.incident
        assert [a.action for a in decision.audit] == [AuditAction.REFUSAL]
        assert decision.events[0].operator == "police"


def test_an_update_with_a_radius_out_of_bounds_is_refused() -> None:
    decision = handle(state(opened()), update_cmd(5, None, radius_m=6000.0), CITY)
    assert decision.refusal is not None
    assert decision.incident == opened().incident


def test_an_update_that_changes_nothing_is_refused() -> None:
    decision = handle(state(opened()), update_cmd(5, None), CITY)
    assert decision.refusal is not None


def test_reusing_an_incident_id_is_refused() -> None:
    decision = handle(state(opened()), open_cmd(at=T0 + timedelta(seconds=5)), CITY)
    assert decision.refusal is not None
    assert "already in use" in decision.refusal.reason


def test_naive_command_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        open_cmd(at=datetime(2025, 3, 1, 12, 0))  # noqa: DTZ001 - the point of the test


# --------------------------------------------------------------------------- following


def run(commands: list[Command], config: VigieConfig = CITY) -> list[Decision]:
    """Apply commands in order after opening at ORIGIN; the decisions of the commands."""
    incident = state(opened(config))
    decisions = []
    for command in commands:
        decision = handle(incident, command, config)
        decisions.append(decision)
        incident = state(decision)
    return decisions


def test_moving_grants_the_new_cameras_and_keeps_the_left_behind_during_grace() -> None:
    """400 m east: the east-1 station is near, east-2 lies ahead; the square's cameras stay
    granted for the grace period in case the suspect turns back."""
    (moved,) = run([update_cmd(10, offset(400, 0))])
    assert granted(moved) == {"transit-east-1", "transit-east-2"}
    assert revoked(moved) == set()
    incident = state(moved)
    assert active(incident) == {
        "transit-platform",
        "roads-crossing",
        "transit-east-1",
        "transit-east-2",
    }
    left = incident.grants["transit-platform"].left_behind_since
    assert left == T0 + timedelta(seconds=10)
    assert incident.previous_position == ORIGIN


def test_left_behind_cameras_are_revoked_only_after_the_grace_period() -> None:
    (moved,) = run([update_cmd(10, offset(400, 0))])
    incident = state(moved)
    before = T0 + timedelta(seconds=10 + DEFAULT_GRACE_S) - timedelta(microseconds=1)
    early = tick(incident, CITY, before)
    assert early.grants == ()
    assert early.incident == incident
    due = tick(incident, CITY, T0 + timedelta(seconds=10 + DEFAULT_GRACE_S))
    assert revoked(due) == {"transit-platform", "roads-crossing"}
    assert granted(due) == set()
    assert active(state(due)) == {"transit-east-1", "transit-east-2"}
    for g in due.grants:
        assert g.revoked_at == T0 + timedelta(seconds=40)
        assert g.reason is not None
        assert "left behind" in g.reason
    assert [e.kind for e in due.events] == [IncidentEventKind.CAMERA_REVOKED] * 2
    assert {a.action for a in due.audit} == {AuditAction.REVOKE}
    assert {a.actor for a in due.audit} == {POLICY_ACTOR}


def test_a_later_update_also_revokes_what_was_left_behind_long_enough() -> None:
    _, later = run([update_cmd(10, offset(400, 0)), update_cmd(60, offset(410, 0))])
    assert revoked(later) == {"transit-platform", "roads-crossing"}


def test_turning_back_within_the_grace_period_keeps_the_grants_without_new_records() -> None:
    _, back = run([update_cmd(10, offset(400, 0)), update_cmd(20, offset(-10, 0))])
    assert "transit-platform" not in cameras(back, GrantStatus.ACTIVE)
    assert revoked(back) == set()
    incident = state(back)
    assert incident.grants["transit-platform"].left_behind_since is None
    assert incident.grants["transit-platform"].grant.valid_from == T0
    assert incident.grants["transit-east-2"].left_behind_since == T0 + timedelta(seconds=20)


def test_a_camera_revoked_after_grace_is_granted_afresh_when_the_suspect_returns() -> None:
    _, _, back = run(
        [update_cmd(10, offset(400, 0)), update_cmd(60, offset(410, 0)), update_cmd(90, ORIGIN)]
    )
    fresh = next(g for g in back.grants if g.camera_id == "transit-platform")
    assert fresh.status is GrantStatus.ACTIVE
    assert fresh.grant_id == grant_id("inc-1", "transit-platform", T0 + timedelta(seconds=90))
    assert fresh.valid_from == T0 + timedelta(seconds=90)


def test_adjacency_grants_the_next_station_ahead_not_the_one_behind() -> None:
    """Past the platform eastbound, east-1 is granted ahead; westbound, the west station."""
    (eastbound,) = run([update_cmd(10, offset(40, 0))])
    assert "transit-east-1" in granted(eastbound)
    assert "transit-west" not in granted(eastbound)
    (westbound,) = run([update_cmd(10, offset(-40, 0))])
    assert "transit-west" in granted(westbound)
    assert "transit-east-1" not in granted(westbound)


def test_a_radius_only_update_keeps_the_direction_of_travel() -> None:
    moved, resized = run([update_cmd(10, offset(40, 0)), update_cmd(20, None, radius_m=160.0)])
    assert "transit-east-1" in active(state(moved))
    assert state(resized).previous_position == ORIGIN
    assert state(resized).grants["transit-east-1"].left_behind_since is None


def test_no_prediction_at_opening_without_a_direction() -> None:
    assert "transit-east-1" not in granted(opened())


def test_a_wider_radius_grants_more_and_a_narrower_one_lets_go_after_grace() -> None:
    wide, narrow = run([update_cmd(10, None, radius_m=600.0), update_cmd(20, None, radius_m=150.0)])
    assert granted(wide) == {"transit-west", "transit-east-1", "roads-far"}
    assert revoked(narrow) == set()
    due = tick(state(narrow), CITY, T0 + timedelta(seconds=20 + DEFAULT_GRACE_S))
    assert revoked(due) == {"transit-west", "transit-east-1", "roads-far"}


# --------------------------------------------------------------------------- close, expiry


def test_close_revokes_everything_at_once_even_within_grace() -> None:
    _, closed = run([update_cmd(10, offset(400, 0)), close_cmd(15)])
    assert revoked(closed) == {
        "transit-platform",
        "roads-crossing",
        "transit-east-1",
        "transit-east-2",
    }
    assert granted(closed) == set()
    for g in closed.grants:
        assert g.revoked_at == T0 + timedelta(seconds=15)
        assert g.reason == "incident closed"
    incident = state(closed)
    assert incident.status is IncidentStatus.CLOSED
    assert incident.closed_at == T0 + timedelta(seconds=15)
    assert incident.grants == {}
    assert closed.events[-1].kind is IncidentEventKind.CLOSED
    assert closed.audit[-1].action is AuditAction.INCIDENT_CLOSED
    assert desired_grants(CITY, incident, T0) == {}
    assert tick(incident, CITY, T0 + timedelta(hours=1)).grants == ()


def test_grants_expire_with_the_agreements_maximum_duration() -> None:
    """Roads shares for 60 minutes, transit for 120: at 60 minutes only the roads grant goes."""
    incident = state(opened())
    assert next_deadline(incident) == T0 + timedelta(minutes=60)
    expired = tick(incident, CITY, T0 + timedelta(minutes=60))
    assert revoked(expired) == {"roads-crossing"}
    (g,) = expired.grants
    assert g.reason is not None
    assert "expired" in g.reason
    assert active(state(expired)) == {"transit-platform"}
    assert tick(state(expired), CITY, T0 + timedelta(minutes=120)).grants[0].camera_id == (
        "transit-platform"
    )


def test_an_expired_camera_is_not_granted_again_by_a_later_update() -> None:
    (late,) = run([update_cmd(3600, offset(-5, 0))])
    assert "roads-crossing" in revoked(late)
    assert "roads-crossing" not in active(state(late))
    again = handle(state(late), update_cmd(3700, offset(-20, 0)), CITY)
    assert "roads-crossing" not in granted(again)


def test_next_deadline_includes_the_end_of_grace_periods() -> None:
    (moved,) = run([update_cmd(10, offset(400, 0))])
    assert next_deadline(state(moved)) == T0 + timedelta(seconds=10 + DEFAULT_GRACE_S)
    assert next_deadline(state(moved), grace_s=5) == T0 + timedelta(seconds=15)


# --------------------------------------------------------------------------- at-least-once


def test_reprocessing_the_same_open_emits_nothing_new() -> None:
    """A command redelivered after the state was saved is recognised and ignored."""
    first = opened()
    again = handle(state(first), open_cmd(), CITY)
    assert again.replay
    assert (again.grants, again.events, again.audit) == ((), (), ())
    assert again.incident == first.incident


def test_reprocessing_from_lost_state_yields_identical_records() -> None:
    """If the state was not saved, the same command computes the very same records: the
    compacted grants topic keeps one grant per camera and audit ids repeat, not multiply."""
    incident = state(opened())
    command = update_cmd(10, offset(400, 0))
    assert handle(incident, command, CITY) == handle(incident, command, CITY)
    assert opened() == opened()


def test_replaying_a_whole_command_log_on_the_final_state_changes_nothing() -> None:
    commands: list[Command] = [
        open_cmd(),
        update_cmd(10, offset(400, 0)),
        update_cmd(20, offset(800, 0)),
        close_cmd(30),
    ]
    incident: Incident | None = None
    for command in commands:
        incident = handle(incident, command, CITY).incident
    for command in commands:
        replayed = handle(incident, command, CITY)
        assert replayed.replay
        assert replayed.grants == ()
        assert replayed.incident == incident


def test_commands_sharing_a_timestamp_are_both_applied_and_both_recognised() -> None:
    incident = state(opened())
    same_time = update_cmd(0, offset(400, 0))
    moved = handle(incident, same_time, CITY)
    assert not moved.replay
    assert "transit-east-1" in granted(moved)
    assert handle(state(moved), open_cmd(), CITY).replay
    assert handle(state(moved), same_time, CITY).replay


def test_a_command_the_client_dated_in_the_future_does_not_freeze_the_incident() -> None:
    """Redelivery is judged by the command's place in the log, never by a client's clock: after
    a command that claims a time a year ahead, the next update and the close still apply."""
    future = T0 + timedelta(days=365)
    claimed = update_cmd(10, offset(400, 0), claimed_at=future)
    moved = handle(state(opened()), claimed, CITY)
    assert not moved.replay
    head = moved.audit[0]
    assert head.details["claimed_at"] == future.isoformat()
    assert head.time == claimed.at  # decided at the server's time, not the claim
    later = handle(state(moved), update_cmd(20, offset(800, 0)), CITY)
    assert not later.replay
    assert later.refusal is None
    closed = handle(state(later), close_cmd(30), CITY)
    assert not closed.replay
    assert state(closed).status is IncidentStatus.CLOSED
    assert all(g.status is GrantStatus.REVOKED for g in closed.grants)


def test_a_command_outside_a_command_log_is_never_taken_for_a_redelivery() -> None:
    incident = state(opened())
    unlogged = update_cmd(10, offset(400, 0), seq=None)
    assert not handle(incident, unlogged, CITY).replay


def test_a_grant_id_names_one_grant_period_and_a_camera_granted_again_gets_another() -> None:
    """A revocation (or new terms) overwrites its grant on the compacted topic; a camera left
    behind and granted again later must not overwrite the record of its first period, which
    exports and holds still need."""
    decisions = run(
        [update_cmd(10, offset(400, 0)), update_cmd(60, offset(410, 0)), update_cmd(90, ORIGIN)]
    )
    grants = [g for d in decisions for g in d.grants]
    assert all(g.grant_id == grant_id("inc-1", g.camera_id, g.valid_from) for g in grants)
    first = grant_id("inc-1", "transit-platform", T0)
    revoked = {g.grant_id for g in grants if g.status is GrantStatus.REVOKED}
    assert first in revoked  # left behind: the first period's own record is revoked
    again = {g.grant_id for g in grants if g.camera_id == "transit-platform"} - {first}
    assert len(again) == 1  # back at the origin: a second period, under a new id


# --------------------------------------------------------------------------- reconcile


def test_reconcile_is_a_no_op_when_everything_is_in_place() -> None:
    incident = state(opened())
    desired = desired_grants(CITY, incident, T0)
    changes = reconcile(incident.grants, desired, T0 + timedelta(seconds=1), granted_by="x")
    assert (changes.grant, changes.revoke) == ([], [])
    assert changes.tracked == incident.grants


def test_reconcile_regrants_under_the_same_id_when_the_terms_change() -> None:
    """E.g. a reloaded configuration turns archive on: same grant, same valid_from."""
    incident = state(opened())
    richer = city(
        [
            agreement(
                "roads-archive",
                "roads",
                "police",
                ["pursuit"],
                live=False,
                archive=True,
                zones=["centre"],
            )
        ]
    )
    desired = desired_grants(richer, incident, T0 + timedelta(seconds=5))
    changes = reconcile(incident.grants, desired, T0 + timedelta(seconds=5), granted_by="x")
    (changed,) = changes.grant
    assert changed.grant_id == grant_id("inc-1", "roads-crossing", T0)  # same period
    assert changed.valid_from == T0
    assert (changed.live, changed.archive) == (True, True)
    assert changes.revoke == []


def test_reconcile_with_zero_grace_revokes_at_once_with_the_given_reason() -> None:
    incident = state(opened())
    changes = reconcile(incident.grants, {}, T0, grace_s=0, granted_by="x", removal_reason="why")
    assert {g.reason for g in changes.revoke} == {"why"}
    assert changes.tracked == {}


# --------------------------------------------------------------------------- Brussels

BRUSSELS = load(EXAMPLE)


def brussels_open(position: Position, **overrides: Any) -> Decision:
    values: dict[str, Any] = {
        "operator": "police-bruxelles-ixelles",
        "position": position,
        "radius_m": 150.0,
    }
    values.update(overrides)
    decision = handle(None, open_cmd(**values), BRUSSELS)
    assert decision.refusal is None, decision.refusal
    return decision


def between(a: Position, b: Position, fraction: float) -> Position:
    return Position(lat=a.lat + (b.lat - a.lat) * fraction, lon=a.lon + (b.lon - a.lon) * fraction)


def test_brussels_pursuit_from_bourse_toward_de_brouckere_gets_the_stib_platform_ahead() -> None:
    """Bourse is the zone's own camera; heading to De Brouckère, STIB's platform there is
    granted before the suspect arrives, under the STIB - zone 5339 agreement."""
    bourse = BRUSSELS.camera("bourse").position
    brouckere = BRUSSELS.camera("stib-de-brouckere").position
    opening = brussels_open(bourse)
    assert opening.grants == ()
    moved = handle(
        state(opening),
        update_cmd(30, between(bourse, brouckere, 0.3), operator="police-bruxelles-ixelles"),
        BRUSSELS,
    )
    (g,) = moved.grants
    assert g.camera_id == "stib-de-brouckere"
    assert (g.owner_operator, g.grantee_operator) == ("stib", "police-bruxelles-ixelles")
    assert g.agreement_id == "stib-to-bruxelles-ixelles-pursuit"
    assert (g.live, g.archive) == (True, True)
    assert g.valid_until == T0 + timedelta(minutes=120)
    assert g.reason == "next camera ahead in the direction of travel"


def test_brussels_walking_away_from_de_brouckere_does_not_grant_it() -> None:
    bourse = BRUSSELS.camera("bourse").position
    brouckere = BRUSSELS.camera("stib-de-brouckere").position
    opening = brussels_open(between(bourse, brouckere, 0.4))
    moved = handle(
        state(opening), update_cmd(30, bourse, operator="police-bruxelles-ixelles"), BRUSSELS
    )
    assert moved.grants == ()


def test_brussels_metro_eastbound_from_gare_centrale_grants_parc_not_de_brouckere() -> None:
    centrale = BRUSSELS.camera("stib-gare-centrale").position
    parc = BRUSSELS.camera("stib-parc").position
    opening = brussels_open(centrale, radius_m=100.0)
    assert granted(opening) == {"stib-gare-centrale"}
    moved = handle(
        state(opening),
        update_cmd(30, between(centrale, parc, 0.15), operator="police-bruxelles-ixelles"),
        BRUSSELS,
    )
    assert granted(moved) == {"stib-parc"}


def test_brussels_wide_pursuit_at_rogier_opens_stib_and_port_but_not_the_roads_agency() -> None:
    """Two other operators share for pursuits; Bruxelles Mobilité only for accidents and
    demonstrations, and the zone's own cameras need no grant."""
    decision = brussels_open(BRUSSELS.camera("stib-rogier").position, radius_m=2500.0)
    owners = {g.owner_operator for g in decision.grants}
    assert owners == {"stib", "port-bruxelles"}
    assert granted(decision) == {
        "stib-rogier",
        "stib-de-brouckere",
        "stib-gare-centrale",
        "stib-parc",
        "stib-arts-loi",
        "stib-schuman",
        "port-quai-des-usines",
    }


def test_brussels_accident_opens_the_roads_agency_not_stib() -> None:
    decision = brussels_open(
        BRUSSELS.camera("bm-arts-loi").position, kind=IncidentKind.ACCIDENT, radius_m=100.0
    )
    assert granted(decision) == {"bm-arts-loi"}
    (g,) = decision.grants
    assert g.valid_until == T0 + timedelta(minutes=480)


def test_brussels_stib_pursuit_sees_police_metro_entrances_live_only() -> None:
    decision = brussels_open(BRUSSELS.camera("bourse").position, operator="stib", radius_m=400.0)
    (g,) = decision.grants
    assert g.camera_id == "bourse"  # grand-place is near too, but not a metro entrance
    assert (g.live, g.archive) == (True, False)
    assert g.valid_until == T0 + timedelta(minutes=30)


def test_brussels_port_cannot_open_a_pursuit() -> None:
    decision = handle(
        None,
        open_cmd(operator="port-bruxelles", position=BRUSSELS.camera("port-avant-port").position),
        BRUSSELS,
    )
    assert decision.refusal is not None
    assert "no sharing agreement allows pursuit" in decision.refusal.reason


def test_only_the_incident_operator_may_move_or_close_it() -> None:
    """Another operator cannot redirect (or end) someone else's pursuit: refused and audited,
    in the same words as a missing incident, and told to the requester alone."""
    incident = state(opened())
    moved = handle(incident, update_cmd(10, offset(400, 0), operator="roads"), CITY)
    closed = handle(incident, close_cmd(10).__class__(
        incident_id="inc-1", operator="roads", requested_by="x", at=T0 + timedelta(seconds=10)
    ), CITY)  # fmt: skip
    for decision in (moved, closed):
        assert decision.refusal is not None
        assert decision.refusal.reason == "unknown incident 'inc-1'"
        assert [(e.kind, e.operator) for e in decision.events] == [
            (IncidentEventKind.REFUSED, "roads")
        ]
        assert audience(decision.events[0], incident, decision.incident, ()) == {"roads"}
        assert decision.grants == ()
        assert [a.action for a in decision.audit] == [AuditAction.REFUSAL]

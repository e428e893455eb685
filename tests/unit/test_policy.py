"""The routing decision: who receives a frame of another operator's camera, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.headers import FrameRouting, to_epoch_us
from schemas.records import Grant, GrantStatus
from streams.policy import GrantIndex, recipients

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
T0_US = to_epoch_us(T0)
MINUTE_US = 60_000_000


def grant(
    camera: str = "cam-1",
    owner: str = "transit",
    grantee: str = "police",
    *,
    grant_id: str | None = None,
    live: bool = True,
    archive: bool = True,
    valid_from: datetime = T0,
    valid_until: datetime = T0 + timedelta(hours=2),
    status: GrantStatus = GrantStatus.ACTIVE,
) -> Grant:
    return Grant(
        grant_id=grant_id or f"inc-1:{camera}:{grantee}",
        incident_id="inc-1",
        camera_id=camera,
        owner_operator=owner,
        grantee_operator=grantee,
        live=live,
        archive=archive,
        valid_from=valid_from,
        valid_until=valid_until,
        legal_basis="PV 2025/123",
        agreement_id="transit-to-police",
        granted_by="inspector",
        status=status,
        revoked_at=T0 + timedelta(minutes=5) if status is GrantStatus.REVOKED else None,
    )


def revoked(g: Grant) -> Grant:
    return replace(g, status=GrantStatus.REVOKED, revoked_at=T0 + timedelta(minutes=5))


def frame(
    camera: str = "cam-1", operator: str = "transit", capture_us: int = T0_US
) -> FrameRouting:
    return FrameRouting(camera_id=camera, operator=operator, capture_time_us=capture_us, sequence=1)


NOW = T0_US + MINUTE_US


# --------------------------------------------------------------------------- examples


def test_an_active_live_grant_forwards_to_its_grantee() -> None:
    index = GrantIndex.from_grants([grant()])
    assert recipients(frame(capture_us=NOW), index, NOW) == {"police"}


def test_several_grantees_each_receive_the_frame() -> None:
    index = GrantIndex.from_grants([grant(grantee="police"), grant(grantee="roads")])
    assert recipients(frame(capture_us=NOW), index, NOW) == {"police", "roads"}


def test_no_grant_means_nobody_deny_by_default() -> None:
    """A camera nobody was granted (or never heard of) is shared with nobody."""
    index = GrantIndex.from_grants([grant(camera="cam-1")])
    assert recipients(frame(camera="cam-2", capture_us=NOW), index, NOW) == frozenset()
    assert recipients(frame(capture_us=NOW), GrantIndex(ready=True), NOW) == frozenset()


def test_a_revoked_grant_stops_forwarding() -> None:
    g = grant()
    index = GrantIndex.from_grants([g])
    assert index.apply(revoked(g)) is True
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()
    assert len(index) == 0


def test_a_grant_granted_again_after_revocation_forwards_again() -> None:
    g = grant()
    index = GrantIndex.from_grants([g, revoked(g), g])
    assert recipients(frame(capture_us=NOW), index, NOW) == {"police"}


def test_an_archive_only_grant_never_forwards_live() -> None:
    index = GrantIndex.from_grants([grant(live=False, archive=True)])
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()


def test_a_grant_downgraded_to_archive_only_stops_live_forwarding() -> None:
    g = grant()
    index = GrantIndex.from_grants([g])
    assert index.apply(replace(g, live=False)) is True
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()


def test_nothing_is_forwarded_before_the_index_is_ready() -> None:
    """After a restart the grants are recovering: fail closed until they are."""
    index = GrantIndex()
    index.apply(grant())
    assert not index.ready
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()
    index.mark_ready()
    assert recipients(frame(capture_us=NOW), index, NOW) == {"police"}
    index.mark_recovering()
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()


def test_the_owner_is_never_a_recipient() -> None:
    """The owner reads its own frames topic; even a (bogus) grant to itself adds nothing."""
    index = GrantIndex.from_grants([grant(owner="transit", grantee="transit")])
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()


def test_a_grant_from_another_owner_does_not_cover_the_frame() -> None:
    """Frames claiming to come from an operator other than the grant's owner are not shared."""
    index = GrantIndex.from_grants([grant(owner="transit")])
    assert recipients(frame(operator="roads", capture_us=NOW), index, NOW) == frozenset()


def test_grant_validity_window_is_checked_at_processing_time() -> None:
    """valid_from is inclusive, valid_until exclusive (as in the Avro schema)."""
    start, end = T0, T0 + timedelta(minutes=10)
    index = GrantIndex.from_grants([grant(valid_from=start, valid_until=end)])
    start_us, end_us = to_epoch_us(start), to_epoch_us(end)
    assert recipients(frame(capture_us=start_us), index, start_us) == {"police"}
    assert recipients(frame(capture_us=start_us), index, start_us - 1) == frozenset()
    assert recipients(frame(capture_us=end_us - 1), index, end_us - 1) == {"police"}
    assert recipients(frame(capture_us=end_us - 1), index, end_us) == frozenset()


def test_frames_captured_before_the_grant_are_not_shared_live() -> None:
    """A backlog of frames from before the incident stays with the owner."""
    index = GrantIndex.from_grants([grant(valid_from=T0)])
    assert recipients(frame(capture_us=T0_US - 1), index, NOW) == frozenset()
    assert recipients(frame(capture_us=T0_US), index, NOW) == {"police"}


def test_a_late_frame_is_not_forwarded_after_expiry_whatever_its_capture_time() -> None:
    end = T0 + timedelta(minutes=10)
    index = GrantIndex.from_grants([grant(valid_until=end)])
    late = to_epoch_us(end) + 1
    assert recipients(frame(capture_us=T0_US + 1), index, late) == frozenset()


def test_apply_reports_whether_live_forwarding_changed() -> None:
    """The router audits start and stop of forwarding from these answers."""
    g = grant()
    index = GrantIndex(ready=True)
    assert index.apply(g) is True
    assert index.apply(g) is False  # redelivery of the same record
    assert index.apply(replace(g, valid_until=T0 + timedelta(hours=3))) is True
    assert index.apply(revoked(g)) is True
    assert index.apply(revoked(g)) is False
    assert index.apply(grant(live=False, grant_id="other")) is False


def test_a_tombstone_forgets_the_grant() -> None:
    g = grant()
    index = GrantIndex.from_grants([g])
    assert index.discard(g.grant_id) is True
    assert index.discard(g.grant_id) is False
    assert recipients(frame(capture_us=NOW), index, NOW) == frozenset()


def test_revoking_one_grant_keeps_the_others_on_the_same_camera() -> None:
    police, roads = grant(grantee="police"), grant(grantee="roads")
    index = GrantIndex.from_grants([police, roads, revoked(police)])
    assert recipients(frame(capture_us=NOW), index, NOW) == {"roads"}
    assert set(index.live_grants("cam-1")) == {roads.grant_id}


# --------------------------------------------------------------------------- properties

OPERATORS = ["transit", "roads", "police", "port"]
CAMERAS = {"cam-1": "transit", "cam-2": "roads", "cam-3": "police"}


@st.composite
def grant_records(draw: st.DrawFn) -> Grant:
    camera = draw(st.sampled_from(sorted(CAMERAS)))
    # Mostly the real owner, sometimes a record claiming another one.
    owner = draw(st.one_of(st.just(CAMERAS[camera]), st.sampled_from(OPERATORS)))
    grantee = draw(st.sampled_from(OPERATORS))
    start = draw(st.integers(min_value=-10, max_value=10))
    length = draw(st.integers(min_value=0, max_value=20))
    return grant(
        camera=camera,
        owner=owner,
        grantee=grantee,
        grant_id=draw(st.sampled_from(["g1", "g2", "g3", "g4", "g5"])),
        live=draw(st.booleans()),
        archive=draw(st.booleans()),
        valid_from=T0 + timedelta(minutes=start),
        valid_until=T0 + timedelta(minutes=start + length),
        status=draw(st.sampled_from(GrantStatus)),
    )


frames = st.builds(
    frame,
    camera=st.sampled_from([*sorted(CAMERAS), "cam-unknown"]),
    operator=st.sampled_from(OPERATORS),
    capture_us=st.integers(min_value=T0_US - 15 * MINUTE_US, max_value=T0_US + 30 * MINUTE_US),
)
nows = st.integers(min_value=T0_US - 15 * MINUTE_US, max_value=T0_US + 30 * MINUTE_US)


def latest_by_id(records: list[Grant]) -> dict[str, Grant]:
    """What a consumer of the compacted grants topic holds: the last record per grant id."""
    latest: dict[str, Grant] = {}
    for record in records:
        latest[record.grant_id] = record
    return latest


@settings(max_examples=300)
@given(st.lists(grant_records(), max_size=25), frames, nows)
def test_every_recipient_holds_an_active_live_grant_valid_at_that_time(
    records: list[Grant], routed: FrameRouting, now_us: int
) -> None:
    """No frame ever reaches an operator without an ACTIVE live grant from the frame's owner
    on that camera, in force now and started no later than the capture."""
    index = GrantIndex.from_grants(records)
    got = recipients(routed, index, now_us)
    latest = latest_by_id(records)
    for operator in got:
        assert any(
            g.status is GrantStatus.ACTIVE
            and g.live
            and g.camera_id == routed.camera_id
            and g.owner_operator == routed.operator
            and g.grantee_operator == operator
            and to_epoch_us(g.valid_from) <= now_us < to_epoch_us(g.valid_until)
            and to_epoch_us(g.valid_from) <= routed.capture_time_us
            for g in latest.values()
        )


@settings(max_examples=300)
@given(st.lists(grant_records(), max_size=25), frames, nows)
def test_recipients_are_exactly_the_holders_of_admitting_grants(
    records: list[Grant], routed: FrameRouting, now_us: int
) -> None:
    """Nobody entitled is left out either: the index agrees with the latest grant records."""
    expected = {
        g.grantee_operator
        for g in latest_by_id(records).values()
        if g.status is GrantStatus.ACTIVE
        and g.live
        and g.camera_id == routed.camera_id
        and g.owner_operator == routed.operator
        and g.grantee_operator != routed.operator
        and to_epoch_us(g.valid_from) <= now_us < to_epoch_us(g.valid_until)
        and to_epoch_us(g.valid_from) <= routed.capture_time_us
    }
    assert recipients(routed, GrantIndex.from_grants(records), now_us) == expected


@given(st.lists(grant_records(), max_size=25), frames, nows)
def test_the_owner_is_never_among_the_recipients(
    records: list[Grant], routed: FrameRouting, now_us: int
) -> None:
    assert routed.operator not in recipients(routed, GrantIndex.from_grants(records), now_us)


@given(st.lists(grant_records(), max_size=25), frames, nows)
def test_not_ready_means_nobody(records: list[Grant], routed: FrameRouting, now_us: int) -> None:
    index = GrantIndex.from_grants(records, ready=False)
    assert recipients(routed, index, now_us) == frozenset()


@given(st.lists(grant_records(), min_size=1, max_size=25), frames, nows)
def test_revoking_a_grant_removes_its_grantee_unless_another_grant_covers_it(
    records: list[Grant], routed: FrameRouting, now_us: int
) -> None:
    """After a REVOKED record, that grant never forwards again."""
    victim = records[-1]
    index = GrantIndex.from_grants([*records, revoked(victim)])
    remaining = {k: v for k, v in latest_by_id(records).items() if k != victim.grant_id}
    got = recipients(routed, index, now_us)
    assert got == recipients(routed, GrantIndex.from_grants(remaining.values()), now_us)
    assert victim.grant_id not in index.live_grants(victim.camera_id)


@given(st.lists(grant_records(), max_size=25))
def test_archive_only_grants_are_never_in_the_live_index(records: list[Grant]) -> None:
    index = GrantIndex.from_grants(records)
    latest = latest_by_id(records)
    for camera in CAMERAS:
        for grant_id in index.live_grants(camera):
            assert latest[grant_id].live
            assert latest[grant_id].status is GrantStatus.ACTIVE

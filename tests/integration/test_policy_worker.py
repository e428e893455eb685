"""The policy worker on the real Kafka: an incident grants the cameras of other operators near
it, their frames reach the opener's `shared.` topic and no other, following the incident moves
the set, closing stops forwarding within a bound, every decision is in an intact audit chain;
refusals and malformed frames are kept with their reason, never forwarded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from runtime.topic_reader import read_partitions
from schemas.codec import AUDIT_RECORD, DEAD_LETTER, FRAME, GRANT, INCIDENT_EVENT, RecordCodec
from schemas.headers import frame_headers
from schemas.incident_commands import update_record
from schemas.placement import placement
from schemas.records import AuditAction, DeadLetter, IncidentEvent, IncidentEventKind
from schemas.topics import AUDIT, GRANTS, INCIDENTS, frames_topic, incidents_topic
from schemas.topics import DEAD_LETTER as DEAD_LETTER_TOPIC
from tests.builders import eventually, kafka_producer
from tests.builders import frame as build_frame
from tests.integration.policy_world import (
    GRACE_S,
    ORIGIN,
    SharedReader,
    WorkerProcess,
    World,
    build_world,
    closing,
    frame_pump,
    now_us,
    offset,
    provision,
    pursuit,
    send_commands,
    vigie,
)

pytestmark = pytest.mark.integration

CLOSE_BOUND_S = 2.0
"""After a close, no frame captured later than this is forwarded (tick 1 s + routing)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    import uuid

    return build_world(uuid.uuid4().hex[:6], tmp_path_factory.mktemp("policy"))


@pytest.fixture(scope="module")
async def worker(
    kafka_bootstrap: str, world: World, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerProcess]:
    await provision(kafka_bootstrap, world)
    process = WorkerProcess(world, tmp_path_factory.mktemp("logs"))
    try:
        await process.wait_for("grant index ready")
        yield process
    finally:
        assert process.stop() == 0, process.output()[-3000:]


T = TypeVar("T")


async def _records(bootstrap: str, topic: str, codec: RecordCodec[T]) -> list[T]:
    by_partition = await read_partitions(bootstrap, topic)
    return [codec.decode(r.value) for records in by_partition.values() for r in records]


async def test_incident_follow_routes_frames_to_the_opener_only_and_close_stops_them(
    kafka_bootstrap: str, world: World, worker: WorkerProcess
) -> None:
    """Open near a transit and a roads camera: their frames reach shared.<police> and nowhere
    else (not the police's own camera, not shared.<transit>/<roads>). Moving the incident grants
    the camera near the new place and drops those left behind after the grace period. Closing
    stops forwarding within CLOSE_BOUND_S. The audit chain verifies and the report lists it."""
    cams = {c.split("-")[0]: c for c in world.cameras}
    incident = f"inc-follow-{world.police}"
    started = time.time()
    async with (
        SharedReader(kafka_bootstrap, [world.police, world.transit, world.roads]) as shared,
        frame_pump(kafka_bootstrap, world),
    ):
        opened_us = now_us()
        await send_commands(
            kafka_bootstrap, pursuit(world, incident, *ORIGIN, "art. 25 loi caméras")
        )
        await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, opened_us)

        moved_us = now_us()
        lat, lon = offset(600, 0)
        await send_commands(kafka_bootstrap, update_record(
            incident_id=incident, operator=world.police, latitude=lat, longitude=lon,
            radius_m=None, requested_by="inspector.test", at=datetime.now(UTC),
        ))  # fmt: skip
        await shared.wait_for_cameras(
            world.police, {cams["tc1"], cams["rc1"], cams["tc2"]}, moved_us
        )
        # Left behind: forwarded until the grace period ends (+ 1 s tick), then no longer.
        settled_us = moved_us + int((GRACE_S + 2.5) * 1e6)
        await asyncio.sleep(GRACE_S + 4.5)
        assert shared.cameras_on(world.police, settled_us) == {cams["tc2"]}

        closed_us = now_us()
        await send_commands(kafka_bootstrap, closing(world, incident))
        await asyncio.sleep(CLOSE_BOUND_S + 2.0)

    police_frames = [r for r in shared.received if r.topic.endswith(world.police)]
    last_after_close = max((r.capture_us for r in police_frames), default=0) - closed_us
    print(f"forwarding stopped {last_after_close / 1e6:.3f} s after the close command")
    assert last_after_close < CLOSE_BOUND_S * 1e6
    assert shared.cameras_on(world.transit) == set()
    assert shared.cameras_on(world.roads) == set()
    assert cams["pc1"] not in shared.cameras_on(world.police)
    # The pursuit shares transit and roads cameras: each follows it on its own topic while it
    # concerns them; roads, left behind, hears of it until its camera is released, not after.
    closed = (IncidentEventKind.CLOSED, None)
    for operator, hears_of_close in ((world.police, True), (world.transit, True),
                                     (world.roads, False)):  # fmt: skip
        events = await _records(kafka_bootstrap, incidents_topic(operator), INCIDENT_EVENT)
        mine = [(e.kind, e.camera_id) for e in events if e.incident_id == incident]
        assert mine[0] == (IncidentEventKind.OPENED, None), (operator, mine)
        assert (closed in mine) is hears_of_close, (operator, mine)
    assert (IncidentEventKind.CAMERA_REVOKED, cams["rc1"]) in mine

    verify = vigie("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "chain intact" in verify.stdout
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started - 5))
    report = vigie("audit", "report", "--from", since, "--to", "2999-01-01T00:00:00")
    assert report.returncode == 0, report.stderr
    assert f"{world.police} saw camera {cams['tc1']} of {world.transit}" in report.stdout
    assert f"{world.police} saw camera {cams['tc2']} of {world.transit}" in report.stdout
    assert f"incident {incident}, legal basis: art. 25 loi caméras" in report.stdout
    grants_in_report = [
        line for line in report.stdout.splitlines() if "GRANT for" in line and incident in line
    ]
    assert len(grants_in_report) == 3


async def test_open_without_legal_basis_is_refused_audited_and_grants_nothing(
    kafka_bootstrap: str, world: World, worker: WorkerProcess
) -> None:
    """A command without a legal basis: a REFUSED incident event with the reason, a REFUSAL
    audit record, and no grant at all."""
    incident = f"inc-refused-{world.police}"
    await send_commands(kafka_bootstrap, pursuit(world, incident, *ORIGIN, None))

    async def incident_events() -> list[IncidentEvent]:
        return [e for e in await _records(kafka_bootstrap, INCIDENTS, INCIDENT_EVENT)
                if e.incident_id == incident]  # fmt: skip

    events = await eventually(
        incident_events, 20, interval_s=0.5, message=f"no incident event for {incident}"
    )
    assert [e.kind for e in events] == [IncidentEventKind.REFUSED]
    assert "legal basis" in (events[0].reason or "")
    # The refusal reaches the police's own incident topic, and no other operator's.
    for operator, expected in ((world.police, 1), (world.transit, 0), (world.roads, 0)):
        events = await _records(kafka_bootstrap, incidents_topic(operator), INCIDENT_EVENT)
        mine = [e for e in events if e.incident_id == incident]
        assert len(mine) == expected, (operator, mine)
    await asyncio.sleep(1.0)  # the sealer chains the draft
    audit = [r for r in await _records(kafka_bootstrap, AUDIT, AUDIT_RECORD)
             if r.incident_id == incident]  # fmt: skip
    assert [r.action for r in audit] == [AuditAction.REFUSAL]
    grants = [g for g in await _records(kafka_bootstrap, GRANTS, GRANT)
              if g.incident_id == incident]  # fmt: skip
    assert grants == []


async def test_frame_with_corrupt_headers_goes_to_dead_letter_with_the_reason(
    kafka_bootstrap: str, world: World, worker: WorkerProcess
) -> None:
    """A frame of a shared camera whose capture-time header is not a number is neither
    forwarded nor dropped: it is on `dead-letter`, unchanged, with the reason. (The router
    reads only shared cameras; the archiver, which reads every frame, refuses the others.)"""
    cams = {c.split("-")[0]: c for c in world.cameras}
    camera = cams["tc1"]
    incident = f"inc-corrupt-{world.police}"
    async with (
        SharedReader(kafka_bootstrap, [world.police]) as shared,
        frame_pump(kafka_bootstrap, world),
    ):
        since = now_us()
        await send_commands(kafka_bootstrap, pursuit(world, incident, *ORIGIN, "art. 25"))
        await shared.wait_for_cameras(world.police, {camera, cams["rc1"]}, since)
        async with kafka_producer(kafka_bootstrap, client_id="test-corrupt-frame") as producer:
            await producer.send_and_wait(
                frames_topic(world.transit),
                key=camera.encode(),
                value=b"corrupt frame body",
                headers=[
                    ("vigie-camera", camera.encode()),
                    ("vigie-operator", world.transit.encode()),
                    ("vigie-capture-us", b"yesterday"),
                    ("vigie-seq", b"1"),
                    ("vigie-schema", b"be.vigie.Frame"),
                ],
                partition=placement(world.config.cameras).partition(camera),
            )

        async def dead_letters() -> list[DeadLetter]:
            return [d for d in await _records(kafka_bootstrap, DEAD_LETTER_TOPIC, DEAD_LETTER)
                    if d.source_topic == frames_topic(world.transit)
                    and d.value == b"corrupt frame body"]  # fmt: skip

        letters = await eventually(
            dead_letters,
            20,
            interval_s=0.5,
            message=f"nothing from {frames_topic(world.transit)} on dead-letter",
        )
        await send_commands(kafka_bootstrap, closing(world, incident))
    assert len(letters) == 1
    letter = letters[0]
    assert letter.value == b"corrupt frame body"
    assert letter.error_kind == "HeaderError"
    assert "vigie-capture-us" in letter.reason


async def test_a_frame_under_another_operators_camera_is_dead_lettered_not_shared(
    kafka_bootstrap: str, world: World, worker: WorkerProcess
) -> None:
    """Transit publishes, on the partition of its own camera that is shared with the police, a
    frame that names a roads camera (a forged camera id): it is neither forwarded nor dropped
    but kept on `dead-letter` with the reason."""
    cams = {c.split("-")[0]: c for c in world.cameras}
    incident = f"inc-forged-{world.police}"
    async with (
        SharedReader(kafka_bootstrap, [world.police]) as shared,
        frame_pump(kafka_bootstrap, world),
    ):
        since = now_us()
        await send_commands(kafka_bootstrap, pursuit(world, incident, *ORIGIN, "art. 25"))
        await shared.wait_for_cameras(world.police, {cams["tc1"], cams["rc1"]}, since)
        async with kafka_producer(kafka_bootstrap, client_id="test-forger") as producer:
            forged = build_frame(world.transit, cams["rc1"], sequence=999_999)
            await producer.send_and_wait(
                frames_topic(world.transit),
                key=forged.camera_id.encode(),
                value=FRAME.encode(forged),
                headers=frame_headers(forged),
                partition=placement(world.config.cameras).partition(cams["tc1"]),
            )

        async def letters() -> list[DeadLetter]:
            return [d for d in await _records(kafka_bootstrap, DEAD_LETTER_TOPIC, DEAD_LETTER)
                    if d.source_topic == frames_topic(world.transit)
                    and "belongs to" in d.reason]  # fmt: skip

        found = await eventually(letters, 20, interval_s=0.5, message="no dead letter")
        await send_commands(kafka_bootstrap, closing(world, incident))
        await asyncio.sleep(1)
    assert len(found) == 1
    assert f"belongs to '{world.roads}'" in found[0].reason
    assert FRAME.decode(found[0].value).sequence == 999_999  # kept whole, for the record
    assert all(seq != 999_999 for seq in shared.sequences_on(world.police, cams["rc1"]))

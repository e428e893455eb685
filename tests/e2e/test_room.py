"""The incident room, as control-room staff use it, on the real Kafka, MinIO and policy worker.

Police (officer and viewer) open a pursuit through the API; transit and roads cameras near it
are shared; the police viewer sees their snapshots and live stream, every view audited before
it is shown; transit follows the pursuit that shares its cameras but sees no police camera;
an incident that concerns no one else stays invisible to others; closing stops the shared
cameras at once. Refusals come from the server as 401/403/404/422, audited; the archive of a
shared camera is played back for the grant's window only.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from runtime.topic_reader import read_partitions
from schemas.codec import AUDIT_RECORD
from schemas.records import AuditAction, AuditRecord
from schemas.topics import AUDIT_DRAFTS
from tests.builders import eventually
from tests.e2e.room_support import Browser, add_user, run_vigie, serving_world
from tests.integration.archive_support import archive_once, publish_frames
from tests.integration.policy_world import (
    ORIGIN,
    World,
    build_world,
    frame_pump,
    offset,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(uuid.uuid4().hex[:6], tmp_path_factory.mktemp("room"))


@pytest.fixture(scope="module")
async def room(
    kafka_bootstrap: str,
    minio_client: Minio,
    world: World,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """A provisioned world, its policy worker and the room serving it; the room's URL."""
    logs = tmp_path_factory.mktemp("room-logs")
    async with serving_world(kafka_bootstrap, minio_client, world, logs) as url:
        yield url


class People:
    def __init__(self, world: World) -> None:
        suffix = world.police.split("-")[1]
        self.officer = f"pol.officer.{suffix}"
        self.transit = f"tra.viewer.{suffix}"
        self.roads = f"rds.viewer.{suffix}"
        self.auditor = f"pol.auditor.{suffix}"


@pytest.fixture(scope="module")
def people(world: World, room: str) -> People:
    who = People(world)
    add_user(world.config_path, who.officer, world.police, "officer", "viewer", "supervisor")
    add_user(world.config_path, who.transit, world.transit, "viewer", "officer")
    add_user(world.config_path, who.roads, world.roads, "viewer")
    add_user(world.config_path, who.auditor, world.police, "auditor")
    return who


@pytest.fixture
def police(room: str, people: People) -> Iterator[Browser]:
    browser = Browser(room, people.officer)
    yield browser
    browser.close()


@pytest.fixture
def transit(room: str, people: People) -> Iterator[Browser]:
    browser = Browser(room, people.transit)
    yield browser
    browser.close()


async def _open(browser: Browser, lat: float, lon: float, cameras: int = 0) -> dict[str, Any]:
    """Open a pursuit and wait until it is open with `cameras` shared cameras (the grant
    events follow the opening)."""
    body = {"kind": "pursuit", "latitude": lat, "longitude": lon, "radius_m": 100,
            "legal_basis": "art. 25 loi caméras"}  # fmt: skip
    accepted = browser.send("POST", "/api/incidents", body)
    assert accepted.status_code == 202, accepted.text
    incident_id = accepted.json()["incident_id"]
    return await _until(
        browser, incident_id, lambda i: i["status"] == "open" and len(i["cameras"]) >= cameras
    )


async def _until(browser: Browser, incident_id: str, ok: Any) -> dict[str, Any]:
    def current() -> dict[str, Any]:
        answer = browser.get(f"/api/incidents/{incident_id}")
        return answer.json() if answer.status_code == 200 else {}

    found: dict[str, Any] = await eventually(
        lambda: asyncio.to_thread(current), 20, interval_s=0.3,
        message=lambda: f"incident {incident_id}: {current()}", until=lambda i: bool(i) and ok(i),
    )  # fmt: skip
    return found


async def _drafts(bootstrap: str, actor: str) -> list[AuditRecord]:
    return [
        d
        for rs in (await read_partitions(bootstrap, AUDIT_DRAFTS)).values()
        for r in rs
        if (d := AUDIT_RECORD.decode(r.value or b"")).actor == actor
    ]


def test_nothing_without_a_session(room: str) -> None:
    import httpx2

    for path in ("/api/incidents", "/api/cameras", "/api/cameras/x/snapshot"):
        answer = httpx2.get(room + path, timeout=10)
        assert answer.status_code == 401, (path, answer.text)
        assert "Traceback" not in answer.text


async def test_a_pursuit_shares_cameras_live_audited_and_closing_ends_it(
    kafka_bootstrap: str, world: World, people: People, police: Browser, transit: Browser
) -> None:
    cams = {c.split("-")[0]: c for c in world.cameras}
    async with frame_pump(kafka_bootstrap, world):
        incident = await _open(police, *ORIGIN, cameras=2)
        assert incident["operator"] == world.police
        assert incident["opened_by"] == people.officer  # the server says who, not the client
        assert set(incident["cameras"]) == {cams["tc1"], cams["rc1"]}

        listed = {c["camera_id"]: c for c in police.get("/api/cameras").json()}
        assert set(listed) == {cams["pc1"], cams["tc1"], cams["rc1"]}
        assert listed[cams["tc1"]]["shared"] is True

        async def snapshot() -> Any:
            return await asyncio.to_thread(police.get, f"/api/cameras/{cams['tc1']}/snapshot")

        shot = await eventually(snapshot, 15, interval_s=0.3, message="no snapshot of tc1",
                                until=lambda r: r.status_code == 200)  # fmt: skip
        assert shot.headers["content-type"] == "image/jpeg"
        assert shot.content[:2] == b"\xff\xd8"

        def watch_live() -> tuple[str, int]:
            """Three frames of the live stream, then leave (a thread: the pump keeps going)."""
            with police.http.stream("GET", f"/api/cameras/{cams['tc1']}/live") as live:
                assert live.status_code == 200
                seen = b""
                for block in live.iter_bytes():
                    seen += block
                    if seen.count(b"Content-Type: image/jpeg") >= 3:
                        break
                return live.headers["content-type"], seen.count(b"\xff\xd8")

        kind, jpegs = await asyncio.to_thread(watch_live)
        assert kind.startswith("multipart/x-mixed-replace")
        assert jpegs >= 3

        # Transit follows the pursuit that shares its cameras, but sees no police camera.
        assert incident["incident_id"] in {
            i["incident_id"] for i in transit.get("/api/incidents").json()
        }
        assert cams["pc1"] not in {c["camera_id"] for c in transit.get("/api/cameras").json()}
        refused = transit.get(f"/api/cameras/{cams['pc1']}/snapshot")
        assert refused.status_code == 403, refused.text
        # Transit may not move or close the police's pursuit: as if it did not exist.
        moved = transit.send("PATCH", f"/api/incidents/{incident['incident_id']}",
                             {"latitude": 50.0, "longitude": 4.0})  # fmt: skip
        assert moved.status_code == 404, moved.text

        closed = police.send("POST", f"/api/incidents/{incident['incident_id']}/close")
        assert closed.status_code == 202, closed.text
        await _until(police, incident["incident_id"], lambda i: i["status"] == "closed")
        after = police.get(f"/api/cameras/{cams['tc1']}/snapshot")
        assert after.status_code == 403, after.text  # the last frame is no longer served

    async def audited() -> list[tuple[AuditAction, str | None]]:
        drafts = await _drafts(kafka_bootstrap, people.officer)
        return [(d.action, d.details.get("view") or d.details.get("phase")) for d in drafts]

    wanted = {(AuditAction.LIVE_VIEW, "snapshot"), (AuditAction.LIVE_VIEW, "live")}
    found = await eventually(audited, 10, interval_s=0.5, message="no audit of the views",
                             until=lambda a: wanted <= set(a))  # fmt: skip
    assert sum(1 for a in found if a == (AuditAction.LIVE_VIEW, "live")) == 2  # start and end
    refusals = [d for d in await _drafts(kafka_bootstrap, people.transit)
                if d.action is AuditAction.REFUSAL]  # fmt: skip
    assert any(d.camera_id == cams["pc1"] for d in refusals)
    # Transit's try at the police's pursuit is on record too (for transit's auditors only).
    assert any(d.incident_id == incident["incident_id"] for d in refusals)


async def test_an_incident_that_does_not_concern_an_operator_is_invisible_to_it(
    police: Browser, transit: Browser
) -> None:
    far = await _open(police, *offset(5000, 0))  # no camera of anyone else near it
    assert far["cameras"] == []
    assert transit.get(f"/api/incidents/{far['incident_id']}").status_code == 404
    assert far["incident_id"] not in {
        i["incident_id"] for i in transit.get("/api/incidents").json()
    }
    closed = police.send("POST", f"/api/incidents/{far['incident_id']}/close")
    assert closed.status_code == 202


async def test_changes_need_the_csrf_token_the_role_and_a_valid_body(
    kafka_bootstrap: str, room: str, people: People, police: Browser
) -> None:
    body = {"kind": "pursuit", "latitude": 50.85, "longitude": 4.35, "radius_m": 100,
            "legal_basis": "art. 25"}  # fmt: skip
    forged = police.send("POST", "/api/incidents", body, csrf=False)
    assert forged.status_code == 403, forged.text
    invalid = police.send("POST", "/api/incidents", {**body, "radius_m": -5})
    assert invalid.status_code == 422
    assert "radius_m" in invalid.json()["error"]
    bad_id = police.get("/api/incidents/<img src=x onerror=alert(1)>")
    assert bad_id.status_code in (404, 422)
    assert "<img" not in bad_id.text
    roads = Browser(room, people.roads)  # a viewer, not an officer
    try:
        assert roads.send("POST", "/api/incidents", body).status_code == 403
    finally:
        roads.close()

    async def refusals() -> list[AuditRecord]:
        return [d for d in await _drafts(kafka_bootstrap, people.roads)
                if d.action is AuditAction.REFUSAL]  # fmt: skip

    refused = await eventually(refusals, 10, interval_s=0.5, until=bool,
                               message="the role refusal is not audited")  # fmt: skip
    assert refused[0].details["request"] == "POST /api/incidents"
    auditor = Browser(room, people.auditor)  # an auditor sees no image
    try:
        assert auditor.get("/api/cameras").status_code == 403
    finally:
        auditor.close()


async def test_the_archive_of_a_shared_camera_plays_back_for_the_grant_only(
    kafka_bootstrap: str,
    minio_client: Minio,
    world: World,
    room: str,
    people: People,
    police: Browser,
    tmp_path: Path,
) -> None:
    cams = {c.split("-")[0]: c for c in world.cameras}
    incident = await _open(police, *ORIGIN, cameras=2)
    since = datetime.now(UTC)
    # Real JPEGs (the archiver refuses anything else) captured during the grant.
    await publish_frames(kafka_bootstrap, world.transit, [cams["tc1"]], 20, interval_s=0.0,
                         start=since + timedelta(milliseconds=100))  # fmt: skip
    until = since + timedelta(seconds=3)
    await archive_once(kafka_bootstrap, minio_client, world.transit, 20)
    window = {"start": since.isoformat(), "end": until.isoformat()}
    timeline = police.get(f"/api/cameras/{cams['tc1']}/archive", params=window)
    assert timeline.status_code == 200, timeline.text
    chunks = timeline.json()["chunks"]
    assert chunks, timeline.text
    clip = police.get(chunks[0]["playback"])
    assert clip.status_code == 200, clip.text
    assert hashlib.sha256(clip.content).hexdigest() == clip.headers["x-vigie-video-sha256"]
    # Roads shares its camera live only: its archive is refused, by the server.
    refused = police.get(f"/api/cameras/{cams['rc1']}/archive", params=window)
    assert refused.status_code == 403, refused.text
    # Before the grant: refused too.
    before = {"start": (since - timedelta(hours=1)).isoformat(), "end": since.isoformat()}
    assert police.get(f"/api/cameras/{cams['tc1']}/archive", params=before).status_code == 403

    # The same through the command line, signed in as the officer (also a supervisor): the
    # window's chunks, then the incident's evidence package, verified.
    _cli_login(room, people.officer)
    listed = run_vigie("archive", "list", "--camera", cams["tc1"], "--from", since.isoformat(),
                       "--to", until.isoformat())  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert f"{len(chunks)} chunks of {world.transit}'s camera" in listed.stdout
    out = tmp_path / "evidence"
    exported = run_vigie("archive", "export", incident["incident_id"], "--reason",
                         "court request 42", "--out", str(out))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    (package,) = list(out.iterdir())
    assert list((package / "clips" / world.transit / cams["tc1"]).glob("*.mp4"))
    verified = run_vigie("archive", "verify", str(package))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    police.send("POST", f"/api/incidents/{incident['incident_id']}/close")


def _cli_login(room: str, user: str) -> None:
    login = run_vigie("room", "login", "--user", user, "--url", room, "--password-stdin",
                      stdin="correct horse battery\n")  # fmt: skip
    assert login.returncode == 0, login.stderr


def test_the_cli_gives_commands_as_the_signed_in_user(
    room: str, world: World, people: People
) -> None:
    _cli_login(room, people.officer)
    lat, lon = offset(8000, 0)
    opened = run_vigie(
        "incident", "open", "--kind", "pursuit", "--lat", str(lat), "--lon", str(lon),
        "--radius", "100", "--legal-basis", "art. 25",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    incident_id, status = opened.stdout.split()[:2]
    assert status == "open"
    refused = run_vigie("incident", "update", incident_id, "--radius", "999999")
    assert refused.returncode in (2, 3), refused.stdout + refused.stderr
    closed = run_vigie("incident", "close", incident_id)
    assert closed.returncode == 0, closed.stderr
    assert f"{incident_id} closed" in closed.stdout
    listed = run_vigie("incident", "list")
    assert incident_id in listed.stdout


async def test_an_auditor_reads_who_saw_what_and_sees_no_image(
    kafka_bootstrap: str, world: World, room: str, people: People, police: Browser
) -> None:
    cams = {c.split("-")[0]: c for c in world.cameras}
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with frame_pump(kafka_bootstrap, world):

        async def snapshot() -> Any:
            return await asyncio.to_thread(police.get, f"/api/cameras/{cams['pc1']}/snapshot")

        await eventually(snapshot, 15, interval_s=0.3, message="no snapshot of pc1",
                         until=lambda r: r.status_code == 200)  # fmt: skip
    auditor = Browser(room, people.auditor)
    try:
        assert auditor.get(f"/api/cameras/{cams['pc1']}/snapshot").status_code == 403
        window = {"start": started.isoformat(), "end": (started + timedelta(hours=1)).isoformat()}

        def views() -> list[dict[str, Any]]:
            answer = auditor.get("/api/audit/report", params=window)
            assert answer.status_code == 200, answer.text
            return [r for r in answer.json()["records"]
                    if r["actor"] == people.officer and r["action"] == "LIVE_VIEW"]  # fmt: skip

        found = await eventually(
            lambda: asyncio.to_thread(views), 20, interval_s=0.5,
            message="the snapshot is not in the report", until=bool,
        )  # fmt: skip
        assert found[0]["camera_id"] == cams["pc1"]
        assert police.get("/api/audit/report", params=window).status_code == 403  # no auditor
    finally:
        auditor.close()

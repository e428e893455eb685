"""The incident room's page, used in a real headless Chromium (Debian's, driven by Playwright),
on the real Kafka, MinIO, policy worker and `vigie room serve`.

Everything is done through the page, as control-room staff would: a police officer opens a
pursuit, sees a transit camera appear on the map and as a live tile whose frame time advances,
moves the incident on the map (grants follow), closes it and sees the shared tiles go; transit
does not see the police-only incident; the archive of the incident window plays back in the
page; the page speaks Dutch and French. A screenshot of each step is kept under
`.artifacts/room-browser/` (its path is printed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import math
import re
import threading
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from minio import Minio
from playwright.async_api import Browser, Page, async_playwright, expect

from runtime.connection import REPO_ROOT
from schemas.config import ArchiveProfile, parse
from tests.e2e.room_support import add_user, room_server, run_vigie, serving_world
from tests.integration.archive_support import archive_once, jpegs, publish_frames
from tests.integration.policy_world import ORIGIN, World, build_world, frame_pump, offset

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# As root on a machine with no way out: no sandbox, and none of Chromium's own connections.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO_ROOT / ".artifacts" / "room-browser"
PASSWORD = "correct horse battery"
SECONDS = 1000  # Playwright's timeouts are in milliseconds

if not CHROMIUM.exists():  # pragma: no cover - infra/local/test-peers.sh installs it
    pytest.fail("Debian's chromium is missing: run `bash infra/local/test-peers.sh`")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The policy tests' world, but the police archives in MJPEG (Matroska), which browsers do
    not play: the page replays it through the room; transit archives in H.264 (MP4)."""
    built = build_world(uuid.uuid4().hex[:6], tmp_path_factory.mktemp("room-browser"))
    data = yaml.safe_load(built.config_path.read_text())
    for operator in data["operators"]:
        if operator["id"] == built.police:
            operator["archive_profile"] = "mjpeg"
    built.config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return dataclasses.replace(built, config=parse(data, str(built.config_path)))


@pytest.fixture(scope="module")
async def room(
    kafka_bootstrap: str,
    minio_client: Minio,
    world: World,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    logs = tmp_path_factory.mktemp("room-browser-logs")
    async with serving_world(kafka_bootstrap, minio_client, world, logs) as url:
        yield url


class People:
    def __init__(self, world: World) -> None:
        suffix = world.police.split("-")[1]
        self.officer = f"pol.web.{suffix}"
        self.transit = f"tra.web.{suffix}"


@pytest.fixture(scope="module")
def people(world: World, room: str) -> People:
    who = People(world)
    add_user(world.config_path, who.officer, world.police, "officer", "viewer", "supervisor")
    add_user(world.config_path, who.transit, world.transit, "viewer", "officer")
    return who


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


def _camera(world: World, prefix: str) -> str:
    return next(c for c in world.cameras if c.startswith(prefix))


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


async def sign_in(chromium: Browser, url: str, user: str, lang: str = "en") -> Page:
    context = await chromium.new_context(viewport={"width": 1400, "height": 1100}, locale=lang)
    page = await context.new_page()
    await page.goto(url)
    await page.fill("#login input[name=user]", user)
    await page.fill("#login input[name=password]", PASSWORD)
    await page.keyboard.press("Enter")  # keyboard usable: the form submits on Enter
    await expect(page.locator("#room")).to_be_visible(timeout=10 * SECONDS)
    return page


async def open_incident(page: Page, lat: float, lon: float, radius_m: int = 100) -> str:
    """Open a pursuit through the form; the id of the incident the page then shows as open."""
    await page.click("#new-incident")
    await page.select_option("#open-form select[name=kind]", "pursuit")
    await page.fill("#open-form input[name=legal_basis]", "art. 25 loi caméras")
    await page.fill("#open-form input[name=radius_m]", str(radius_m))
    await page.fill("#open-form input[name=latitude]", f"{lat:.6f}")
    await page.fill("#open-form input[name=longitude]", f"{lon:.6f}")
    selected = page.locator(".incident[aria-current=true]")
    before = await selected.locator(".id").all_inner_texts()
    await page.click("#open-form button[type=submit]")
    # The page selects the new incident as soon as the policy has decided on it.
    fresh = selected.filter(has_not_text=before[0]) if before else selected
    await expect(fresh.locator(".state")).to_have_text("open", timeout=20 * SECONDS)
    return await fresh.locator(".id").inner_text()


async def frame_time(page: Page, camera_id: str) -> int:
    tile = page.locator(f'.tile[data-camera="{camera_id}"]')
    value = await tile.get_attribute("data-frame-time")
    return int(value or 0)


async def until(check: Callable[[], Awaitable[object]], timeout_s: float, message: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(message)
        await asyncio.sleep(0.2)


async def click_map_at(page: Page, east_m: float) -> None:
    """Click the map `east_m` metres east of the incident's pin (metres per pixel from the zoom
    at the incident's latitude)."""
    pin = await page.locator(".incident-pin").bounding_box()
    assert pin is not None
    zoom = float(await page.locator("#map").get_attribute("data-zoom") or "15")
    metres_per_px = 40_075_016.686 * math.cos(math.radians(ORIGIN[0])) / 2 ** (zoom + 8)
    x = pin["x"] + pin["width"] / 2 + east_m / metres_per_px
    y = pin["y"] + pin["height"] / 2
    await page.mouse.click(x, y)


async def test_an_officer_follows_a_pursuit_on_the_map_and_in_live_tiles(
    kafka_bootstrap: str, world: World, people: People, room: str, chromium: Browser
) -> None:
    tc1, tc2, pc1 = (_camera(world, p) for p in ("tc1-", "tc2-", "pc1-"))
    async with frame_pump(kafka_bootstrap, world, images=jpegs()):
        page = await sign_in(chromium, room, people.officer)
        own = page.locator(f'.tile[data-camera="{pc1}"]')
        await expect(own).to_be_visible(timeout=10 * SECONDS)
        await shot(page, "01-officer-signed-in")

        incident_id = await open_incident(page, *ORIGIN)
        # The transit camera near the pursuit: on the map, as a live tile, and announced.
        tile = page.locator(f'.tile[data-camera="{tc1}"]')
        await expect(tile).to_be_visible(timeout=15 * SECONDS)
        await expect(page.locator("#map path.cam-shared")).not_to_have_count(0)
        await expect(page.locator("#alerts")).to_contain_text(tc1)
        await until(lambda: frame_time(page, tc1), 10, f"no frame painted in the tile of {tc1}")
        first = await frame_time(page, tc1)
        await until(
            lambda: _later(page, tc1, first), 10, f"the frame time of {tc1} does not advance"
        )
        await expect(page.locator("#facts")).to_contain_text(tc1)
        await shot(page, "02-pursuit-open-transit-camera-live")

        # Move the incident by clicking the map 600 m east, by tc2: grants follow.
        await click_map_at(page, 600)
        await expect(page.locator(f'.tile[data-camera="{tc2}"]')).to_be_visible(
            timeout=15 * SECONDS
        )
        await expect(page.locator(f'.tile[data-camera="{tc1}"]')).to_have_count(
            0, timeout=20 * SECONDS
        )
        await expect(page.locator("#map path.trail")).to_have_count(1)
        await shot(page, "03-pursuit-moved")

        await page.click("#close-incident")
        await expect(page.locator(".incident[aria-current=true] .state")).to_have_text(
            "closed", timeout=15 * SECONDS
        )
        await expect(page.locator(".tile.shared")).to_have_count(0, timeout=15 * SECONDS)
        await expect(page.locator("#alerts")).to_contain_text("no longer shared")
        await expect(own).to_be_visible()  # its own camera stays
        await shot(page, "04-pursuit-closed")
        assert incident_id
        await page.context.close()


async def _later(page: Page, camera_id: str, than: int) -> bool:
    return await frame_time(page, camera_id) > than


async def test_transit_does_not_see_the_police_only_incident(
    kafka_bootstrap: str, world: World, people: People, room: str, chromium: Browser
) -> None:
    pc1 = _camera(world, "pc1-")
    async with frame_pump(kafka_bootstrap, world, images=jpegs()):
        police = await sign_in(chromium, room, people.officer)
        pursuit = await open_incident(police, *ORIGIN)  # shares transit's camera
        police_only = await open_incident(police, *offset(5000, 0))  # no one else near
        transit = await sign_in(chromium, room, people.transit)
        listed = transit.locator("#incident-list .incident .id")
        await expect(listed.filter(has_text=pursuit)).to_have_count(1, timeout=10 * SECONDS)
        await expect(transit.locator(".tile").first).to_be_visible(timeout=10 * SECONDS)
        assert await listed.filter(has_text=police_only).count() == 0
        assert police_only not in await transit.locator("body").inner_text()
        assert await transit.locator(f'.tile[data-camera="{pc1}"]').count() == 0
        # Transit may not act on the police's pursuit: no action is offered.
        await listed.filter(has_text=pursuit).click()
        await expect(transit.locator("#close-incident")).to_have_count(0)
        await shot(transit, "05-transit-sees-only-what-concerns-it")
        for incident in (pursuit, police_only):
            await police.locator("#incident-list .incident .id").filter(has_text=incident).click()
            await police.click("#close-incident")
        await transit.context.close()
        await police.context.close()


async def test_the_archive_of_the_incident_window_plays_in_the_page(
    kafka_bootstrap: str, minio_client: Minio, world: World, people: People, room: str,
    chromium: Browser, tmp_path: Path,
) -> None:  # fmt: skip
    tc1, rc1, pc1 = (_camera(world, p) for p in ("tc1-", "rc1-", "pc1-"))
    page = await sign_in(chromium, room, people.officer)
    incident_id = await open_incident(page, *ORIGIN)
    await expect(page.locator("#facts")).to_contain_text(tc1, timeout=15 * SECONDS)
    since = datetime.now(UTC)
    await publish_frames(kafka_bootstrap, world.transit, [tc1], 20, interval_s=0.0,
                         start=since + timedelta(milliseconds=100))  # fmt: skip
    await publish_frames(kafka_bootstrap, world.police, [pc1], 20, interval_s=0.0,
                         start=since + timedelta(milliseconds=100))  # fmt: skip
    await archive_once(kafka_bootstrap, minio_client, world.transit, 20)
    await archive_once(kafka_bootstrap, minio_client, world.police, 20, ArchiveProfile.MJPEG)

    await page.select_option("#timeline-camera", tc1)
    await page.click("#timeline-load")
    play = page.locator(".chunk-row button").first
    await expect(play).to_be_visible(timeout=10 * SECONDS)
    await play.click()
    video = page.locator("#player video")
    await expect(video).to_have_count(1)
    await until(
        lambda: video.evaluate("v => v.readyState >= 2 && v.videoWidth > 0"),
        15,
        "the archived clip does not play",
    )
    await shot(page, "06-archive-played")

    # The police's own camera, archived in MJPEG: replayed by the room into an <img>.
    await page.select_option("#timeline-camera", pc1)
    await page.click("#timeline-load")
    await expect(page.locator(".chunk-row button").first).to_contain_text("mjpeg")
    await page.locator(".chunk-row button").first.click()
    replay = page.locator("#player img.clip")
    await until(
        lambda: replay.evaluate("i => i.complete && i.naturalWidth > 0"),
        15,
        "the MJPEG chunk is not replayed",
    )
    await page.locator("#player input[type=range]").fill("500")  # scrub into the chunk
    await expect(replay).to_have_attribute("src", re.compile(r"from_ms=500"))
    await shot(page, "06b-mjpeg-archive-replayed")

    # Roads shares its camera live only: the server refuses its archive, the page says so.
    await page.select_option("#timeline-camera", rc1)
    await page.click("#timeline-load")
    await expect(page.locator("#timeline-error")).to_contain_text("archive refused")
    await expect(page.locator("#player video")).to_have_count(0)
    await shot(page, "07-archive-refused")

    # The supervisor holds the evidence, giving the reason the audit keeps.
    await page.fill("#evidence-reason", "kept for the investigating judge")
    await page.click("#hold")
    await expect(page.locator("#alerts")).to_contain_text("Evidence held", timeout=30 * SECONDS)
    await expect(page.locator("#action-error")).to_have_text("")
    await shot(page, "07b-evidence-held")

    # ... and exports it: a package the page offers to download, that `vigie archive verify`
    # accepts.
    await page.click("#export")
    link = page.locator("#export-download")
    await expect(link).to_be_visible(timeout=60 * SECONDS)
    href = await link.get_attribute("href")
    assert href is not None
    package = await page.request.get(room + href)
    assert package.status == 200
    assert package.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(await package.body())) as archive:
        archive.extractall(tmp_path)
        names = archive.namelist()
    assert any(n.endswith("/receipt.json") for n in names)
    assert any(n.endswith("/SHA256SUMS") for n in names)
    assert any(f"/{tc1}/" in n for n in names), names
    folder = tmp_path / names[0].split("/")[0]
    verified = await asyncio.to_thread(run_vigie, "archive", "verify", str(folder))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    await shot(page, "07c-evidence-exported")
    await page.click("#close-incident")
    assert incident_id
    await page.context.close()


async def test_the_page_speaks_dutch_and_french(
    world: World, people: People, room: str, chromium: Browser
) -> None:
    page = await sign_in(chromium, room, people.officer)
    await page.select_option("#lang", "nl")
    await expect(page.locator("h1")).to_have_text("Vigie-incidentenkamer")
    await expect(page.locator("#incidents-title")).to_have_text("Incidenten")
    await expect(page.locator("#new-incident")).to_have_text("Nieuw incident")
    assert await page.evaluate("document.documentElement.lang") == "nl"
    await shot(page, "08-dutch")
    await page.select_option("#lang", "fr")
    await expect(page.locator("h1")).to_have_text("Salle d'incident Vigie")
    await expect(page.locator("#new-incident")).to_have_text("Nouvel incident")
    when = page.locator(".incident .when").first
    if await when.count():  # dates in the French way: no AM/PM
        text = await when.inner_text()
        assert "AM" not in text
        assert "PM" not in text
    await shot(page, "09-french")
    await page.reload()  # the choice is kept
    await expect(page.locator("h1")).to_have_text("Salle d'incident Vigie")
    await page.context.close()


async def test_an_incident_is_opened_and_moved_from_the_keyboard_alone(
    world: World, people: People, room: str, chromium: Browser
) -> None:
    """No mouse: Tab to the controls, type, Enter; the map is not needed to act."""
    page = await sign_in(chromium, room, people.officer)
    incident_id = await open_incident(page, *offset(8000, 0))
    lat, lon = offset(8000, 150)
    await page.focus("#move-form input[name=latitude]")
    await page.keyboard.press("Control+A")
    await page.keyboard.type(f"{lat:.6f}")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Control+A")
    await page.keyboard.type(f"{lon:.6f}")
    await page.keyboard.press("Enter")
    await expect(page.locator("#facts")).to_contain_text(f"{lat:.5f}"[:7], timeout=15 * SECONDS)
    await expect(page.locator("#map path.trail")).to_have_count(1)
    await page.focus("#close-incident")
    await page.keyboard.press("Enter")
    await expect(page.locator(".incident[aria-current=true] .state")).to_have_text(
        "closed", timeout=15 * SECONDS
    )
    await shot(page, "10-moved-and-closed-from-the-keyboard")
    assert incident_id
    await page.context.close()


async def test_a_refusal_of_the_policy_is_shown_as_the_server_gives_it(
    people: People, room: str, chromium: Browser
) -> None:
    """A radius the API takes but the policy bounds: the incident is refused, and the page
    shows why (the server's reason, not a guess of the page)."""
    page = await sign_in(chromium, room, people.officer)
    await page.click("#new-incident")
    await page.fill("#open-form input[name=legal_basis]", "art. 25 loi caméras")
    await page.fill("#open-form input[name=radius_m]", "90000")
    lat, lon = offset(9000, 0)
    await page.fill("#open-form input[name=latitude]", f"{lat:.6f}")
    await page.fill("#open-form input[name=longitude]", f"{lon:.6f}")
    await page.click("#open-form button[type=submit]")
    selected = page.locator(".incident[aria-current=true]")
    await expect(selected.locator(".state")).to_have_text("refused", timeout=20 * SECONDS)
    await expect(page.locator("#facts")).to_contain_text("Refused because")
    assert "radius" in (await page.locator("#facts").inner_text()).lower()
    await shot(page, "11-refused-by-the-policy")
    await page.context.close()


class TileServer:
    """A map tile server on loopback: the same grey 256 px PNG for every /tiles/z/x/y.png."""

    def __init__(self) -> None:
        png = cv2.imencode(".png", np.full((256, 256, 3), 215, np.uint8))[1].tobytes()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(200 if self.path.startswith("/tiles/") else 404)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.http.shutdown()
        self.http.server_close()


async def test_a_tile_server_the_deployment_configured_draws_the_map(
    world: World,
    people: People,
    room: str,
    chromium: Browser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without one the map is offline (every other test); with one, its tiles are drawn, its
    origin alone is added to the policy's img-src, and its attribution is shown."""
    with TileServer() as tiles:
        monkeypatch.setenv("VIGIE_ROOM_TILE_URL", f"{tiles.origin}/tiles/{{z}}/{{x}}/{{y}}.png")
        monkeypatch.setenv("VIGIE_ROOM_TILE_ATTRIBUTION", "Tiles of the test region")
        with room_server(world.config_path, tmp_path / "room-tiles.log") as url:
            page = await sign_in(chromium, url, people.officer)
            await expect(page.locator("#map img.leaflet-tile-loaded").first).to_be_visible(
                timeout=10 * SECONDS
            )
            await expect(page.locator(".leaflet-control-attribution")).to_contain_text(
                "Tiles of the test region"
            )
            answer = await page.request.get(url)
            policy = answer.headers["content-security-policy"]
            assert f"img-src 'self' blob: data: {tiles.origin};" in policy
            assert "connect-src 'self';" in policy
            assert tiles.requests > 0
            await shot(page, "12-configured-tile-server")
            await page.context.close()

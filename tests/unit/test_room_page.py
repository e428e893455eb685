"""The room's page as the server gives it: static files served here (nothing from a CDN), no
inline script or style, every string in the three catalogues, and the map's tile server
allowed by the Content-Security-Policy only when a deployment configured one."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consumers.room import users as store
from consumers.room.app import build_app
from consumers.room.auth import LocalAuthenticator
from consumers.room.page import LEAFLET_DIR, MapSettings, map_settings_from_env
from consumers.room.security import CONTENT_SECURITY_POLICY, content_security_policy
from consumers.room.sessions import SessionStore
from schemas.errors import VigieError

APP = Path(str(resources.files("consumers.room") / "static" / "app"))
EXTERNAL_URL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost|testserver)[\w.-]+\.\w""")


def _client(tmp_path: Path, settings: MapSettings | None = None) -> TestClient:
    app = build_app(
        authenticator=LocalAuthenticator(store.users_path(tmp_path)),
        sessions=SessionStore(),
        routers=[],
        secure_cookies=False,
        map_settings=settings,
    )
    return TestClient(app)


def test_the_page_and_its_modules_are_served_here_without_inline_code(tmp_path: Path) -> None:
    client = _client(tmp_path)
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "no inline script"
    assert "<style" not in page.text, "no inline style"
    assert " style=" not in page.text, "no inline style"
    assert not EXTERNAL_URL.search(page.text)
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    for module in APP.glob("*.js"):
        text = module.read_text()
        assert "innerHTML" not in text, f"{module.name}: text from the server must stay inert"
        assert "eval(" not in text, module.name
        assert "new Function" not in text, module.name
        for imported in re.findall(r'from "(/[^"]+)"', text):
            assert client.get(imported).status_code == 200, (module.name, imported)
        assert client.get(f"/app/{module.name}").status_code == 200


@pytest.mark.skipif(
    not (LEAFLET_DIR / "leaflet-src.esm.js").exists(), reason="make bootstrap installs Leaflet"
)
def test_leaflet_comes_from_the_pinned_npm_package(tmp_path: Path) -> None:
    client = _client(tmp_path)
    script = client.get("/vendor/leaflet/leaflet-src.esm.js")
    assert script.status_code == 200
    assert "Leaflet 1.9.4" in script.text[:500]
    assert client.get("/vendor/leaflet/leaflet.css").status_code == 200


def test_every_message_is_in_every_catalogue() -> None:
    catalogues = {p.stem: json.loads(p.read_text()) for p in (APP / "i18n").glob("*.json")}
    assert set(catalogues) == {"en", "fr", "nl"}
    keys = set(catalogues["en"])
    for lang, messages in catalogues.items():
        assert set(messages) == keys, lang
    used: set[str] = set()
    for source in [*APP.glob("*.js"), APP / "index.html"]:
        text = source.read_text()
        used |= set(re.findall(r'\bt\("(\w+)"', text))
        used |= set(re.findall(r'data-i18n="(\w+)"', text))
    assert used <= keys, used - keys


def test_without_a_tile_server_the_map_is_offline_and_the_policy_unchanged(
    tmp_path: Path,
) -> None:
    client = _client(tmp_path)
    assert client.get("/api/map").json() == {"tile_url": None, "attribution": None}
    assert map_settings_from_env({}) == MapSettings()


def test_a_configured_tile_server_is_the_only_origin_added_to_img_src(tmp_path: Path) -> None:
    settings = map_settings_from_env(
        {"VIGIE_ROOM_TILE_URL": "https://tiles.example.org/osm/{z}/{x}/{y}.png"}
    )
    client = _client(tmp_path, settings)
    policy = client.get("/").headers["content-security-policy"]
    assert policy == content_security_policy(["https://tiles.example.org"])
    assert "img-src 'self' blob: data: https://tiles.example.org;" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert client.get("/api/map").json()["tile_url"].startswith("https://tiles.example.org/")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//{z}{x}{y}",
        "https://tiles.example.org/tiles.png",
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "https://a.org; script-src *//{z}/{x}/{y}",
    ],
)
def test_a_bad_tile_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(VigieError, match="VIGIE_ROOM_TILE_URL"):
        map_settings_from_env({"VIGIE_ROOM_TILE_URL": url})

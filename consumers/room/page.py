"""The room's page in the browser: static files the room serves itself, nothing from a CDN.

    GET /                 the page (static/app/index.html): plain ES modules, no build step
    GET /app/...          its scripts, style sheet and message catalogues (en, fr, nl)
    GET /vendor/leaflet/  Leaflet, pinned in web/package-lock.json and installed by `npm ci`
    GET /api/map          the map's settings: the tile server a deployment configured, if any

The page works with no internet: without a tile server, the map draws cameras, zones and the
incident on a neutral background with a scale. A deployment that has a tile server sets
`VIGIE_ROOM_TILE_URL` (e.g. ``https://tiles.example.org/{z}/{x}/{y}.png``) and, if its licence
asks for it, `VIGIE_ROOM_TILE_ATTRIBUTION`; only then does the Content-Security-Policy let
images come from that origin.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, field_validator

from runtime.connection import REPO_ROOT
from schemas.errors import VigieError

__all__ = ["LEAFLET_DIR", "MapSettings", "install_page", "map_settings_from_env"]

logger = logging.getLogger(__name__)

LEAFLET_DIR = REPO_ROOT / "web" / "node_modules" / "leaflet" / "dist"
"""Leaflet's files as `npm ci` installed them in web/ (infra/local/bootstrap.sh)."""

TILE_URL_ENV = "VIGIE_ROOM_TILE_URL"
TILE_ATTRIBUTION_ENV = "VIGIE_ROOM_TILE_ATTRIBUTION"


class MapSettings(BaseModel):
    tile_url: str | None = Field(
        default=None, description="a tile URL template with {z}, {x} and {y}; none: offline map"
    )
    attribution: str | None = Field(default=None, max_length=300)

    @field_validator("tile_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the tile URL must be http(s)://host/...")
        if not all(f"{{{k}}}" in value for k in "zxy"):
            raise ValueError("the tile URL needs {z}, {x} and {y}")
        if any(c in parts.netloc for c in "{}*; '\""):
            raise ValueError("the tile URL's host must be one fixed host")
        return value

    def img_origins(self) -> tuple[str, ...]:
        """What the Content-Security-Policy must add to img-src for the tiles."""
        if self.tile_url is None:
            return ()
        parts = urlsplit(self.tile_url)
        return (f"{parts.scheme}://{parts.netloc}",)


def map_settings_from_env(environ: Mapping[str, str] = os.environ) -> MapSettings:
    """The deployment's map settings (no tile server unless `VIGIE_ROOM_TILE_URL` is set)."""
    try:
        return MapSettings(
            tile_url=environ.get(TILE_URL_ENV) or None,
            attribution=environ.get(TILE_ATTRIBUTION_ENV) or None,
        )
    except ValueError as exc:
        raise VigieError(f"{TILE_URL_ENV}: {exc}") from exc


def install_page(app: FastAPI, settings: MapSettings, leaflet_dir: Path | None) -> None:
    static = Path(str(resources.files("consumers.room") / "static" / "app"))
    app.mount("/app", StaticFiles(directory=static), name="page")
    if leaflet_dir is not None and (leaflet_dir / "leaflet-src.esm.js").exists():
        app.mount("/vendor/leaflet", StaticFiles(directory=leaflet_dir), name="leaflet")
    else:
        logger.warning(
            "room: Leaflet not installed in %s (run `make bootstrap`): the page has no map",
            leaflet_dir,
        )

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/api/map", tags=["page"])
    def map_settings() -> MapSettings:
        """The map's settings for the page: a tile server, or none (the offline map)."""
        return settings

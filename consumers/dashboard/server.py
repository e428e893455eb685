"""The HTTP edge of a dashboard: one page per operator, live MJPEG per camera, JSON state.

    GET /                    the page
    GET /api/state           cameras (own and shared) and recent incident events, as JSON
    GET /snapshot/{camera}   the newest JPEG of a camera this operator sees
    GET /stream/{camera}     multipart MJPEG of that camera (what <img> plays natively)

A camera the view does not hold (not this operator's, not shared with it now) is a 404: the
page can only show what reached this operator's topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from importlib import resources

from aiohttp import web

from consumers.dashboard.view import DashboardView

VIEW_KEY = web.AppKey("view", DashboardView)
BOUNDARY = "vigieframe"
STREAM_INTERVAL_S = 0.1


def _camera(request: web.Request) -> bytes:
    live = request.app[VIEW_KEY].cameras.get(request.match_info["camera"])
    if live is None or not live.jpeg:
        raise web.HTTPNotFound(text="no such camera for this operator (or no frame yet)")
    return live.jpeg


async def page(request: web.Request) -> web.Response:
    html = resources.files("consumers.dashboard").joinpath("page.html").read_text()
    operator = request.app[VIEW_KEY].operator
    return web.Response(text=html.replace("{{operator}}", operator), content_type="text/html")


async def state(request: web.Request) -> web.Response:
    view = request.app[VIEW_KEY]
    incidents = [
        {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in dataclasses.asdict(e).items()
        }
        for e in view.incidents
    ]
    return web.json_response(
        {
            "operator": view.operator,
            "cameras": view.summary(datetime.now(UTC)),
            "incidents": incidents,
        }
    )


async def snapshot(request: web.Request) -> web.Response:
    return web.Response(body=_camera(request), content_type="image/jpeg")


async def stream(request: web.Request) -> web.StreamResponse:
    view = request.app[VIEW_KEY]
    camera_id = request.match_info["camera"]
    _camera(request)  # 404 before starting a stream for a camera this operator cannot see
    response = web.StreamResponse(
        headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
    )
    await response.prepare(request)
    last_sequence = -1
    while True:
        live = view.cameras.get(camera_id)
        if live is None:
            break  # forgotten (e.g. after a restart of the view): end the stream
        if live.sequence != last_sequence and live.jpeg:
            last_sequence = live.sequence
            part = (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(live.jpeg)}\r\n\r\n"
            ).encode()
            try:
                await response.write(part + live.jpeg + b"\r\n")
            except ConnectionResetError:
                break
        await asyncio.sleep(STREAM_INTERVAL_S)
    return response


def make_app(view: DashboardView) -> web.Application:
    app = web.Application()
    app[VIEW_KEY] = view
    app.router.add_get("/", page)
    app.router.add_get("/api/state", state)
    app.router.add_get("/snapshot/{camera}", snapshot)
    app.router.add_get("/stream/{camera}", stream)
    return app

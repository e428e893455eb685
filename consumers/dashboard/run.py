"""Run one operator's dashboard: the Kafka feed and the web server in one process."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from consumers.dashboard.feed import follow
from consumers.dashboard.server import make_app
from consumers.dashboard.view import DashboardView
from runtime import connection

logger = logging.getLogger(__name__)


async def serve(operator: str, host: str, port: int, bootstrap: str) -> None:
    view = DashboardView(operator)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(view))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    logger.info("dashboard of %s on http://%s:%d/", operator, host, port)
    feed = asyncio.create_task(follow(view, bootstrap, stop))
    # A dead feed must not leave a page that silently shows frozen images: stop, and let the
    # supervisor restart the process.
    feed.add_done_callback(lambda _: stop.set())
    try:
        await stop.wait()
    finally:
        await feed
        await runner.cleanup()


def main(operator: str, host: str, port: int) -> int:
    asyncio.run(serve(operator, host, port, connection.load().kafka_bootstrap))
    return 0

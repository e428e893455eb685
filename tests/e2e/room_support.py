"""The incident room as users meet it: `vigie room serve` as a process, users added with the
`vigie` command, and browser-like HTTP clients (cookie session and CSRF header)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
from minio import Minio

from runtime import connection
from tests.builders import eventually_sync
from tests.integration.archive_support import provision_operator
from tests.integration.policy_world import WorkerProcess, World, provision
from vigie import provisioning

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_vigie(
    *args: str, stdin: str = "", env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env or os.environ),
        timeout=60,
        check=False,
    )


def add_user(config: Path, name: str, operator: str, *roles: str) -> None:
    role_args = [arg for role in roles for arg in ("--role", role)]
    added = run_vigie(
        "room", "user", "add", name, "--operator", operator, *role_args,
        "--config", str(config), "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


@contextmanager
def room_server(config: Path | None, log: Path, *, tls: bool = False) -> Iterator[str]:
    """`vigie room serve` on a free port (configuration: `config`, else the default) until
    the block ends; its URL."""
    port = free_port()
    args = ["room", "serve", *(["--config", str(config)] if config else []), "--port", str(port)]
    with log.open("ab") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "vigie", *args, *(["--tls"] if tls else [])],
            env=os.environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    scheme = "https" if tls else "http"
    url = f"{scheme}://127.0.0.1:{port}"

    def answers() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"vigie room serve exited: {log.read_text()[-3000:]}")
        try:
            return httpx2.get(f"{url}/openapi.json", verify=verify(), timeout=2).is_success
        except (httpx2.HTTPError, FileNotFoundError, ssl.SSLError):
            return False

    try:
        eventually_sync(answers, 30, interval_s=0.2, message=f"the room answers on {url}")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def verify() -> ssl.SSLContext:
    """Trust the stack's CA (the room's --tls certificate is signed by it)."""
    ca = Path(os.environ["VIGIE_STATE_DIR"]) / "tls" / "ca.crt"
    return ssl.create_default_context(cafile=ca)


class Browser:
    """A signed-in browser: the session cookie, and the CSRF token it sends on every change."""

    def __init__(self, url: str, user: str, password: str = PASSWORD) -> None:
        self.http = httpx2.Client(base_url=url, verify=verify(), timeout=30)
        answer = self.http.post("/api/session", json={"user": user, "password": password})
        assert answer.status_code == 200, answer.text
        self.csrf: str = answer.json()["csrf_token"]

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.http.get(path, **kwargs)

    def send(self, method: str, path: str, body: Any = None, csrf: bool = True) -> httpx2.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.request(method, path, json=body, headers=headers)

    def close(self) -> None:
        self.http.close()


@asynccontextmanager
async def serving_world(
    kafka_bootstrap: str, minio_client: Minio, world: World, logs: Path
) -> AsyncIterator[str]:
    """A provisioned world (topics, registry, each operator's archive and MinIO user), its
    policy worker and `vigie room serve` on it, until the block ends; the room's URL."""
    await provision(kafka_bootstrap, world)
    await provisioning.publish_registry(kafka_bootstrap, world.config)  # names and owners
    for operator in (world.police, world.transit, world.roads):
        await provision_operator(kafka_bootstrap, minio_client, operator)
    # `vigie provision` does it for a whole configuration, and prunes what it lacks: not on a
    # stack other tests share.
    await asyncio.to_thread(provisioning.provision_archives, connection.load(), world.config)
    worker = WorkerProcess(world, logs)
    try:
        await worker.wait_for("grant index ready")
        with room_server(world.config_path, logs / "room.log") as url:
            yield url
    finally:
        assert worker.stop() == 0, worker.output()[-3000:]

"""A user path through the `vigie` command: run the incident room, add a user (password on
stdin), sign in with `vigie room login`, and call the API with the token it saved. Over plain
HTTP on loopback and over HTTPS with a certificate of the stack's CA.
The room runs on the test stack (it reads Kafka from its start)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.builders import eventually_sync

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _vigie(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigie", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(live_stack: object) -> dict[str, str]:
    """The test stack's environment: the room reads Kafka and MinIO from its start."""
    return dict(os.environ)


@pytest.fixture
def alice() -> str:
    return f"alice.{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["http", "https"])
def room_url(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[str]:
    """`vigie room serve` running on a free port (with --tls for https) until the test ends."""
    port = _free_port()
    tls = request.param == "https"
    args = ["room", "serve", "--port", str(port), *(["--tls"] if tls else [])]
    server = subprocess.Popen(
        [sys.executable, "-m", "vigie", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"{request.param}://127.0.0.1:{port}"
    ca = Path(env["VIGIE_STATE_DIR"]) / "tls" / "ca.crt"

    def answers() -> bool:
        if server.poll() is not None:
            raise AssertionError(
                f"vigie room serve exited: {server.stdout.read() if server.stdout else ''}"
            )
        try:  # the CA appears when the server has generated its certificate
            verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if tls else True
            return httpx2.get(f"{url}/openapi.json", verify=verify, timeout=2).status_code == 200
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


def test_add_a_user_sign_in_and_call_the_api_with_the_saved_token(
    env: dict[str, str], room_url: str, alice: str
) -> None:
    added = _vigie(
        env,
        "room",
        "user",
        "add",
        alice,
        "--operator",
        "stib",
        "--role",
        "officer",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr

    wrong = _vigie(
        env,
        "room",
        "login",
        "--user",
        alice,
        "--url",
        room_url,
        "--password-stdin",
        stdin="not the password\n",
    )
    assert wrong.returncode == 2
    assert "vigie: room: wrong user name or password" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    login = _vigie(
        env,
        "room",
        "login",
        "--user",
        alice,
        "--url",
        room_url,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    token_file = Path(env["VIGIE_STATE_DIR"]) / "room" / "token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    saved = json.loads(token_file.read_text())
    assert saved["url"] == room_url
    assert PASSWORD not in token_file.read_text()

    ca = saved["ca_file"]
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    me = httpx2.get(
        f"{room_url}/api/me", headers={"Authorization": f"Bearer {saved['token']}"}, verify=verify
    )
    assert me.status_code == 200
    assert (me.json()["user"], me.json()["operator"]) == (alice, "stib")

    # Disabled from the CLI while the server runs: the saved token stops working at once.
    assert _vigie(env, "room", "user", "disable", alice).returncode == 0
    again = httpx2.get(
        f"{room_url}/api/me", headers={"Authorization": f"Bearer {saved['token']}"}, verify=verify
    )
    assert again.status_code == 401

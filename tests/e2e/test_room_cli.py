"""A user path through the `vigie` command: run the incident room, add a user (password on
stdin), sign in with `vigie room login`, and call the API with the token it saved. Over plain
HTTP on loopback and over HTTPS with a certificate of the stack's CA.
The room runs on the test stack (it reads Kafka from its start)."""

from __future__ import annotations

import json
import os
import ssl
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.room_support import PASSWORD, room_server, run_vigie

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(live_stack: object) -> dict[str, str]:
    """The test stack's environment: the room reads Kafka and MinIO from its start."""
    return dict(os.environ)


@pytest.fixture
def alice() -> str:
    return f"alice.{uuid.uuid4().hex[:6]}"


@pytest.fixture(params=["http", "https"])
def room_url(request: pytest.FixtureRequest, env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`vigie room serve` (with --tls for https) until the test ends."""
    with room_server(None, tmp_path / "room.log", tls=request.param == "https") as url:
        yield url


def test_add_a_user_sign_in_and_call_the_api_with_the_saved_token(
    env: dict[str, str], room_url: str, alice: str
) -> None:
    added = run_vigie(
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

    wrong = run_vigie(
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

    login = run_vigie(
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
    assert run_vigie("room", "user", "disable", alice).returncode == 0
    again = httpx2.get(
        f"{room_url}/api/me", headers={"Authorization": f"Bearer {saved['token']}"}, verify=verify
    )
    assert again.status_code == 401

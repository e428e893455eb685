"""The CLI's client of the incident room API, signed in with the token of `vigie room login`.

    with RoomClient.signed_in() as room:
        me = room.get("/api/me")
        room.post("/api/incidents", {...})

`<state>/room/token.json` (0600) keeps the room's URL, the bearer token, who signed in and the
CA that verifies the room's certificate. Errors come back as `RoomError` (exit 2) or, for a
refusal by the server (403), `RoomRefused` (exit 3), with the server's own one-line message.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx2

from runtime.connection import state_dir as default_state_dir
from runtime.credentials import write_private
from schemas.errors import EXIT_REFUSED, VigieError

__all__ = [
    "DEFAULT_URL",
    "RoomClient",
    "RoomError",
    "RoomRefused",
    "SavedLogin",
    "forget_login",
    "load_login",
    "login",
    "save_login",
    "token_path",
]

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_S = 30.0


class RoomError(VigieError):
    """The room could not do what was asked (not reachable, not signed in, invalid request)."""


class RoomRefused(RoomError):
    """The room refused the act (a role or another operator's resource)."""

    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class SavedLogin:
    url: str
    token: str
    user: str
    operator: str
    expires_at: str
    ca_file: str = ""
    """PEM file of the CA that signed the room's certificate; empty: the system's CAs."""


def token_path(state_dir: Path) -> Path:
    return state_dir / "room" / "token.json"


def save_login(state_dir: Path, saved: SavedLogin) -> None:
    write_private(token_path(state_dir), json.dumps(asdict(saved), indent=2) + "\n")


def load_login(state_dir: Path) -> SavedLogin:
    path = token_path(state_dir)
    try:
        return SavedLogin(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise RoomError("not signed in to the room: run `vigie room login --user NAME`") from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise RoomError(f"{path} is unreadable ({exc}): run `vigie room login` again") from None


def forget_login(state_dir: Path) -> None:
    token_path(state_dir).unlink(missing_ok=True)


def _verify(url: str, ca_file: str) -> ssl.SSLContext | bool:
    if not url.startswith("https://"):
        return True
    return ssl.create_default_context(cafile=ca_file or None)


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else f"HTTP {response.status_code}"


def _raise_for(response: httpx2.Response) -> None:
    if response.is_success:
        return
    message = f"room: {_message(response)}"
    status = response.status_code
    if status == 401:
        raise RoomError(f"{message} (run `vigie room login --user NAME`)")
    if status == 403:
        raise RoomRefused(message)
    if status == 429:
        wait = response.headers.get("retry-after", "?")
        raise RoomError(f"{message} (retry in {wait} s)")
    raise RoomError(message)


def login(
    url: str, user: str, password: str, *, ca_file: str = "", timeout_s: float = TIMEOUT_S
) -> SavedLogin:
    """Sign in and return the login to save (the bearer token of a new session)."""
    url = url.rstrip("/")
    try:
        with httpx2.Client(base_url=url, verify=_verify(url, ca_file), timeout=timeout_s) as http:
            response = http.post(
                "/api/session", json={"user": user, "password": password, "bearer": True}
            )
    except httpx2.HTTPError as exc:
        raise RoomError(f"cannot reach the incident room at {url}: {exc}") from None
    _raise_for(response)
    body = response.json()
    return SavedLogin(
        url=url,
        token=body["token"],
        user=body["user"],
        operator=body["operator"],
        expires_at=body["expires_at"],
        ca_file=ca_file,
    )


class RoomClient:
    """Calls the room's JSON API with a saved login; a context manager."""

    def __init__(self, saved: SavedLogin) -> None:
        self.login = saved
        self._http = httpx2.Client(
            base_url=saved.url,
            verify=_verify(saved.url, saved.ca_file),
            timeout=TIMEOUT_S,
            headers={"Authorization": f"Bearer {saved.token}"},
        )

    @classmethod
    def signed_in(cls, state_dir: Path | None = None) -> RoomClient:
        """A client with the login `vigie room login` saved in the state folder."""
        return cls(load_login(state_dir or default_state_dir()))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """The decoded JSON answer (None for an empty one); RoomError otherwise."""
        try:
            response = self._http.request(method, path, json=body)
        except httpx2.HTTPError as exc:
            raise RoomError(
                f"cannot reach the incident room at {self.login.url}: {exc} "
                "(is `vigie room serve` running?)"
            ) from None
        _raise_for(response)
        if not response.content:
            return None
        return response.json()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        if params:
            path = f"{path}?{urllib.parse.urlencode(params)}"
        return self.request("GET", path)

    def download(self, method: str, path: str, target: Path, body: Any = None) -> dict[str, str]:
        """Stream the answer's bytes into `target`; the answer's headers."""
        try:
            with self._http.stream(method, path, json=body) as response:
                if not response.is_success:
                    response.read()
                    _raise_for(response)
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    for block in response.iter_bytes():
                        out.write(block)
                return dict(response.headers)
        except httpx2.HTTPError as exc:
            raise RoomError(f"cannot reach the incident room at {self.login.url}: {exc}") from None

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

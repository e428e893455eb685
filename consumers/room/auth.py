"""Who a room user is, behind one small interface.

The service knows users only through `Authenticator`: `authenticate` checks a name and a
password, `lookup` answers on every request whether a signed-in user still exists and is
enabled (a disabled user's open sessions stop working at once). `LocalAuthenticator` implements
it on the local user file (`consumers.room.users`); an OIDC provider can implement the same two
methods later without touching the routes.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from consumers.room import users as store
from consumers.room.roles import Role

__all__ = ["Authenticator", "LocalAuthenticator", "Role", "User"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class User:
    """An authenticated person: a name, the one operator it belongs to, its roles."""

    name: str
    operator: str
    roles: frozenset[Role]
    sessions_since: datetime | None = None
    """Sessions opened before this time are no longer valid (the password changed); None: no
    such limit (a provider that ends sessions itself)."""

    def has(self, role: Role) -> bool:
        return role in self.roles


class Authenticator(Protocol):
    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right and the user may log in, else None."""
        ...

    def lookup(self, name: str) -> User | None:
        """The user as it is now, None if it no longer exists or is disabled."""
        ...


def _user(record: store.UserRecord) -> User:
    return User(
        name=record.name,
        operator=record.operator,
        roles=record.roles,
        sessions_since=record.password_changed,
    )


class LocalAuthenticator:
    """Users of `<state>/room/users.json`, re-read whenever the file changes (the `vigie room
    user` commands write it from another process)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, store.UserRecord] = {}
        # Verified when the name is unknown, so that an unknown name costs the same time as a
        # wrong password (no user enumeration by timing).
        self._dummy_hash = store.hash_password(os.urandom(16).hex())

    def _records(self) -> dict[str, store.UserRecord]:
        try:
            st = self._path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._users = store.load_users(self._path) if stamp else {}
                self._stamp = stamp
            return self._users

    def authenticate(self, name: str, password: str) -> User | None:
        record = self._records().get(name)
        if record is None:
            store.verify_password(self._dummy_hash, password)
            return None
        if not store.verify_password(record.password_hash, password):
            return None
        if record.disabled:
            logger.info("room login of disabled user %s refused", name)
            return None
        return _user(record)

    def lookup(self, name: str) -> User | None:
        record = self._records().get(name)
        if record is None or record.disabled:
            return None
        return _user(record)

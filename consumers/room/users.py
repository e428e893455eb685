"""The room's local users: one JSON file in the state folder, `<state>/room/users.json` (0600).

Each user belongs to one configured operator and holds one or more roles. Passwords are kept
only as argon2id hashes (argon2-cffi's `PasswordHasher` defaults); a password is never stored,
logged or echoed. The decisions (a valid name, a known operator, roles, adding, changing,
disabling) are pure functions over a mapping of records; `load_users` and `save_users` are the
only file I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from consumers.room.roles import Role
from runtime.credentials import write_private
from schemas.errors import VigieError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "USER_NAME",
    "UserRecord",
    "UserStoreError",
    "add_user",
    "change_password",
    "check_password",
    "disable_user",
    "hash_password",
    "load_users",
    "parse_roles",
    "save_users",
    "users_path",
    "validate_name",
    "verify_password",
]

USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer inputs are refused before hashing (hashing cost must not grow with the input)."""

_HASHER = PasswordHasher()


class UserStoreError(VigieError):
    """A user command that cannot be done as asked (bad name, unknown operator or user...)."""


@dataclass(frozen=True)
class UserRecord:
    name: str
    operator: str
    roles: frozenset[Role]
    password_hash: str
    created: datetime
    changed: datetime
    disabled: bool = False
    password_changed: datetime | None = None
    """The last `vigie room user passwd`: sessions opened before it end."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "operator": self.operator,
            "roles": sorted(r.value for r in self.roles),
            "disabled": self.disabled,
            "password_hash": self.password_hash,
            "created": self.created.isoformat(),
            "changed": self.changed.isoformat(),
            "password_changed": (
                self.password_changed.isoformat() if self.password_changed else None
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserRecord:
        return cls(
            name=validate_name(str(data["name"])),
            operator=str(data["operator"]),
            roles=parse_roles(data["roles"]),
            password_hash=str(data["password_hash"]),
            created=datetime.fromisoformat(str(data["created"])),
            changed=datetime.fromisoformat(str(data["changed"])),
            disabled=bool(data.get("disabled", False)),
            password_changed=(
                datetime.fromisoformat(str(data["password_changed"]))
                if data.get("password_changed")
                else None
            ),
        )


# --- pure decisions -------------------------------------------------------------------------


def validate_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise UserStoreError(
            f"user name {name!r} must be 2 to 64 characters: lowercase letters, digits, '.', "
            "'_' or '-', starting with a letter"
        )
    return name


def parse_roles(roles: Iterable[str]) -> frozenset[Role]:
    """At least one role, each one of viewer, officer, supervisor, auditor."""
    known = {r.value for r in Role}
    given = list(roles)
    unknown = sorted(set(given) - known)
    if unknown:
        raise UserStoreError(
            f"unknown role(s) {', '.join(unknown)}: choose from {', '.join(r.value for r in Role)}"
        )
    if not given:
        raise UserStoreError("a user needs at least one role")
    return frozenset(Role(r) for r in given)


def check_password(password: str) -> str:
    """A password long enough to resist guessing, short enough to hash in bounded time."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserStoreError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserStoreError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def add_user(
    users: Mapping[str, UserRecord],
    *,
    name: str,
    operator: str,
    roles: Iterable[str],
    password_hash: str,
    operators: Collection[str],
    now: datetime,
) -> dict[str, UserRecord]:
    """`users` with a new user of a configured operator."""
    validate_name(name)
    if name in users:
        raise UserStoreError(f"user {name} already exists")
    if operator not in operators:
        raise UserStoreError(
            f"unknown operator {operator!r}: the configuration has {', '.join(sorted(operators))}"
        )
    record = UserRecord(
        name=name,
        operator=operator,
        roles=parse_roles(roles),
        password_hash=password_hash,
        created=now,
        changed=now,
    )
    return {**users, name: record}


def _existing(users: Mapping[str, UserRecord], name: str) -> UserRecord:
    try:
        return users[name]
    except KeyError:
        raise UserStoreError(f"no user {name!r}: add it with `vigie room user add`") from None


def change_password(
    users: Mapping[str, UserRecord], name: str, password_hash: str, now: datetime
) -> dict[str, UserRecord]:
    record = replace(
        _existing(users, name), password_hash=password_hash, changed=now, password_changed=now
    )
    return {**users, name: record}


def disable_user(
    users: Mapping[str, UserRecord], name: str, now: datetime
) -> dict[str, UserRecord]:
    """The user can no longer log in, and the room refuses its open sessions."""
    record = replace(_existing(users, name), disabled=True, changed=now)
    return {**users, name: record}


# --- passwords ------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The argon2id hash of a password that passes `check_password`."""
    return _HASHER.hash(check_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- the file -------------------------------------------------------------------------------


def users_path(state_dir: Path) -> Path:
    return state_dir / "room" / "users.json"


def load_users(path: Path) -> dict[str, UserRecord]:
    """The users of the file; none when it does not exist yet."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
        records = [UserRecord.from_json(item) for item in data["users"]]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UserStoreError(f"{path} is not a valid user file: {exc}") from None
    return {r.name: r for r in records}


def save_users(path: Path, users: Mapping[str, UserRecord]) -> None:
    body = {"users": [users[name].to_json() for name in sorted(users)]}
    write_private(path, json.dumps(body, indent=2) + "\n")

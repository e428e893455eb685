"""The room's local users: who may be added, what is kept (a hash, never a password), the file
readable by its owner only, and sign-in through the local authenticator."""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.room import users as store
from consumers.room.auth import LocalAuthenticator, Role, User

OPERATORS = ("stib", "police-midi")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return store.hash_password(PASSWORD)


def _add(
    users: dict[str, store.UserRecord],
    name: str,
    password_hash: str,
    *,
    operator: str = "stib",
    roles: Sequence[str] = ("viewer",),
) -> dict[str, store.UserRecord]:
    return store.add_user(
        users,
        name=name,
        operator=operator,
        roles=roles,
        password_hash=password_hash,
        operators=OPERATORS,
        now=NOW,
    )


def test_a_user_belongs_to_a_configured_operator_with_roles(password_hash: str) -> None:
    users = _add({}, "alice", password_hash, roles=["officer", "viewer"])
    record = users["alice"]
    assert record.operator == "stib"
    assert record.roles == {Role.OFFICER, Role.VIEWER}
    assert not record.disabled
    assert record.created == record.changed == NOW


@pytest.mark.parametrize(
    "name", ["a", "Alice", "1alice", "al ice", "alice/../x", "-alice", "a" * 65, "élise"]
)
def test_an_invalid_user_name_is_refused(name: str) -> None:
    with pytest.raises(store.UserStoreError, match="user name"):
        _add({}, name, "h")


@pytest.mark.parametrize("name", ["al", "alice.dupont", "j_doe-2", "a" * 64])
def test_valid_user_names(name: str) -> None:
    assert name in _add({}, name, "h")


def test_an_unknown_operator_is_refused_naming_the_configured_ones() -> None:
    with pytest.raises(store.UserStoreError, match=r"unknown operator 'nobody'.*police-midi"):
        _add({}, "alice", "h", operator="nobody")


def test_roles_are_known_and_at_least_one() -> None:
    with pytest.raises(store.UserStoreError, match="unknown role"):
        _add({}, "alice", "h", roles=["viewer", "admin"])
    with pytest.raises(store.UserStoreError, match="at least one role"):
        _add({}, "alice", "h", roles=[])


def test_a_name_is_added_once() -> None:
    users = _add({}, "alice", "h")
    with pytest.raises(store.UserStoreError, match="already exists"):
        _add(users, "alice", "h")


def test_password_change_and_disable_need_an_existing_user() -> None:
    with pytest.raises(store.UserStoreError, match="no user 'bob'"):
        store.change_password({}, "bob", "h", NOW)
    with pytest.raises(store.UserStoreError, match="no user 'bob'"):
        store.disable_user({}, "bob", NOW)


def test_password_change_and_disable_are_dated() -> None:
    users = _add({}, "alice", "h")
    later = NOW + timedelta(hours=1)
    changed = store.change_password(users, "alice", "h2", later)["alice"]
    assert (changed.password_hash, changed.changed, changed.password_changed) == (
        "h2",
        later,
        later,
    )
    disabled = store.disable_user(users, "alice", later)["alice"]
    assert disabled.disabled
    assert disabled.changed == later
    assert users["alice"].disabled is False  # pure: the input is unchanged


def test_passwords_are_hashed_with_argon2id(password_hash: str) -> None:
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert store.verify_password(password_hash, PASSWORD)
    assert not store.verify_password(password_hash, PASSWORD + "!")
    assert not store.verify_password("not a hash", PASSWORD)


def test_a_short_password_is_refused() -> None:
    with pytest.raises(store.UserStoreError, match="at least 12 characters"):
        store.hash_password("short")


def test_the_file_is_private_and_holds_no_password(tmp_path: Path, password_hash: str) -> None:
    path = store.users_path(tmp_path)
    users = _add({}, "alice", password_hash, roles=["auditor"])
    store.save_users(path, users)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert PASSWORD not in path.read_text()
    assert store.load_users(path) == users


def test_a_missing_file_has_no_users_and_a_broken_one_is_named(tmp_path: Path) -> None:
    path = store.users_path(tmp_path)
    assert store.load_users(path) == {}
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"users": [{"name": "alice"}]}))
    with pytest.raises(store.UserStoreError, match=str(path)):
        store.load_users(path)


def test_local_sign_in(tmp_path: Path, password_hash: str) -> None:
    path = store.users_path(tmp_path)
    users = _add({}, "alice", password_hash, roles=["officer"])
    users = _add(users, "dave", password_hash)
    store.save_users(path, store.disable_user(users, "dave", NOW))
    auth = LocalAuthenticator(path)
    alice = User("alice", "stib", frozenset({Role.OFFICER}))
    assert auth.authenticate("alice", PASSWORD) == alice
    assert auth.lookup("alice") == alice
    assert auth.authenticate("alice", "wrong password!") is None
    assert auth.authenticate("nobody", PASSWORD) is None
    assert auth.authenticate("dave", PASSWORD) is None, "a disabled user cannot sign in"
    assert auth.lookup("dave") is None
    assert auth.lookup("nobody") is None


def test_the_authenticator_sees_changes_made_by_another_process(
    tmp_path: Path, password_hash: str
) -> None:
    path = store.users_path(tmp_path)
    auth = LocalAuthenticator(path)
    assert auth.lookup("alice") is None  # no file yet
    users = _add({}, "alice", password_hash)
    store.save_users(path, users)
    assert auth.lookup("alice") is not None
    store.save_users(path, store.disable_user(users, "alice", NOW))
    assert auth.lookup("alice") is None

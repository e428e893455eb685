"""The demo's people: one control-room user per operator (viewer, officer, supervisor) and an
auditor, each with a password generated once into the state folder (0600), so the demo's
scripted pursuit and whoever watches it sign in to the room like anyone else."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from consumers.room import users as store
from runtime.credentials import write_private
from schemas.config import VigieConfig

__all__ = ["AUDITOR", "demo_user", "ensure_demo_users", "passwords_path"]

AUDITOR = "demo.auditor"
ROLES = ("viewer", "officer", "supervisor")


def demo_user(operator: str) -> str:
    return f"demo.{operator}"[:64]


def passwords_path(state_dir: Path) -> Path:
    return state_dir / "room" / "demo-passwords.json"


def ensure_demo_users(config: VigieConfig, state_dir: Path) -> dict[str, str]:
    """Every demo user exists with its saved password; their names and passwords."""
    path = passwords_path(state_dir)
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    users_file = store.users_path(state_dir)
    users = store.load_users(users_file)
    operators = [o.id for o in config.operators]
    wanted: list[tuple[str, str, tuple[str, ...]]] = [(demo_user(o), o, ROLES) for o in operators]
    wanted.append((AUDITOR, operators[0], ("auditor",)))
    now = datetime.now(UTC)
    for name, operator, roles in wanted:
        if name in users and name in passwords:
            continue
        passwords[name] = secrets.token_urlsafe(12)
        password_hash = store.hash_password(passwords[name])
        if name in users:
            users = store.change_password(users, name, password_hash, now)
        else:
            users = store.add_user(
                users,
                name=name,
                operator=operator,
                roles=list(roles),
                password_hash=password_hash,
                operators=operators,
                now=now,
            )
    store.save_users(users_file, users)
    write_private(path, json.dumps(passwords, indent=2) + "\n")
    return {name: passwords[name] for name, _, _ in wanted}

"""`vigie room serve|login|logout` and `vigie room user add|passwd|disable|list`.

The incident room (`consumers/room`) is the one place where people sign in: its users belong to
one operator of the configuration and hold roles. Passwords are read from the terminal (or one
line of standard input with `--password-stdin`), never from a flag, and only their argon2id
hash is kept (`<state>/room/users.json`, 0600).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from consumers.room.roles import Role
from vigie.commands.base import Subparsers, add, config_arg, group

logger = logging.getLogger(__name__)

ROOM_CERT_NAME = "vigie-room"


def _password(args: argparse.Namespace, *, confirm: bool) -> str:
    from consumers.room.users import UserStoreError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if confirm and getpass.getpass("password again: ") != password:
        raise UserStoreError("the two passwords differ")
    return password


def _operators(config_path: Path) -> list[str]:
    from schemas.config import load

    return [o.id for o in load(config_path).operators]


def _user_add(args: argparse.Namespace) -> int:
    from consumers.room import users as store
    from runtime.connection import state_dir

    path = store.users_path(state_dir())
    users = store.load_users(path)
    operators = _operators(args.config)
    now = datetime.now(UTC)
    fields = {"name": args.name, "operator": args.operator, "roles": args.role or []}
    # Name, operator and roles checked before the password is asked for.
    store.add_user(users, **fields, password_hash="", operators=operators, now=now)
    password_hash = store.hash_password(_password(args, confirm=True))
    users = store.add_user(
        users, **fields, password_hash=password_hash, operators=operators, now=now
    )
    store.save_users(path, users)
    roles = ",".join(sorted(users[args.name].roles))
    print(f"user {args.name} added: operator {args.operator}, roles {roles}")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    from consumers.room import users as store
    from runtime.connection import state_dir

    path = store.users_path(state_dir())
    users = store.load_users(path)
    store.change_password(users, args.name, "", datetime.now(UTC))  # exists? before asking
    password_hash = store.hash_password(_password(args, confirm=True))
    store.save_users(
        path, store.change_password(users, args.name, password_hash, datetime.now(UTC))
    )
    print(f"password of {args.name} changed: its open sessions end")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    from consumers.room import users as store
    from runtime.connection import state_dir

    path = store.users_path(state_dir())
    users = store.disable_user(store.load_users(path), args.name, datetime.now(UTC))
    store.save_users(path, users)
    print(f"user {args.name} disabled: it cannot sign in, its open sessions end")
    return 0


def _user_list(_: argparse.Namespace) -> int:
    from consumers.room import users as store
    from runtime.connection import state_dir

    for record in store.load_users(store.users_path(state_dir())).values():
        roles = ",".join(sorted(record.roles))
        state = " disabled" if record.disabled else ""
        print(f"{record.name} {record.operator} {roles}{state}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from consumers.room.run import ServerTls, serve
    from runtime.connection import state_dir
    from runtime.identity import act_as
    from schemas.config import load
    from schemas.security import ROOM

    # Its own writes (commands, audit) as the room; each operator's topics as that operator.
    act_as(ROOM)
    state = state_dir()
    tls = None
    if args.tls:
        from infra.local.tls import ensure_service_cert

        cert, key = ensure_service_cert(state / "tls", ROOM_CERT_NAME)
        tls = ServerTls(cert_file=cert, key_file=key)
    return serve(load(args.config), state, host=args.host, port=args.port, tls=tls)


def _login(args: argparse.Namespace) -> int:
    from runtime.connection import state_dir
    from vigie import room_client

    state = state_dir()
    ca_file = args.ca or ""
    if not ca_file and args.url.startswith("https://") and (state / "tls" / "ca.crt").exists():
        ca_file = str(state / "tls" / "ca.crt")  # the stack's CA signed `serve --tls`'s cert
    saved = room_client.login(args.url, args.user, _password(args, confirm=False), ca_file=ca_file)
    room_client.save_login(state, saved)
    print(f"signed in to {saved.url} as {saved.user} ({saved.operator}) until {saved.expires_at}")
    return 0


def _logout(_: argparse.Namespace) -> int:
    from runtime.connection import state_dir
    from vigie import room_client

    state = state_dir()
    try:
        with room_client.RoomClient.signed_in(state) as room:
            room.delete("/api/session")
    finally:
        room_client.forget_login(state)
    print("signed out")
    return 0


def register(sub: Subparsers) -> None:
    from vigie.room_client import DEFAULT_URL

    room_sub = group(sub, "room", "the incident room service, its users and signing in")

    serve = add(room_sub, "serve", _serve, "run the incident room (JSON API, docs at /docs)")
    config_arg(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--tls", action="store_true", help="HTTPS with a certificate of the stack's CA"
    )

    login = add(room_sub, "login", _login, "sign in; the token is kept for the CLI (0600)")
    login.add_argument("--user", required=True)
    login.add_argument("--url", default=DEFAULT_URL, help=f"the room (default: {DEFAULT_URL})")
    login.add_argument("--ca", help="CA file for an https URL (default: the stack's CA)")
    login.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    add(room_sub, "logout", _logout, "end the CLI's session and forget its token")

    user_sub = group(room_sub, "user", "the room's local users")
    roles = [r.value for r in Role]
    add_p = add(user_sub, "add", _user_add, "add a user of an operator with its roles")
    config_arg(add_p)
    add_p.add_argument("name")
    add_p.add_argument("--operator", required=True, help="the operator the user belongs to")
    add_p.add_argument("--role", action="append", choices=roles, required=True, help="repeatable")
    add_p.add_argument("--password-stdin", action="store_true", help="read it from stdin")

    passwd = add(user_sub, "passwd", _user_passwd, "set a new password (open sessions end)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read it from stdin")

    disable = add(user_sub, "disable", _user_disable, "forbid sign-in and end open sessions")
    disable.add_argument("name")
    add(user_sub, "list", _user_list, "the users, their operator and roles")

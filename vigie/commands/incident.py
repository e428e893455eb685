"""`vigie incident open|update|close|list|show|hold|release`: clients of the incident room.

Every command goes through the room's API with the token of `vigie room login`: the room
knows who you are and which operator you belong to, no flag says it. A command is accepted
once the broker holds it; `open`, `update` and `close` then wait (up to --wait seconds) for
the policy's decision and print it (a refusal exits 3 with the policy's reason).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from schemas.config import IncidentKind
from schemas.errors import EXIT_REFUSED
from vigie.commands.base import Subparsers, add, group

DEFAULT_WAIT_S = 15.0


def _client() -> Any:
    from vigie.room_client import RoomClient

    return RoomClient.signed_in()


def _line(incident: dict[str, Any]) -> str:
    where = "?"
    if incident.get("latitude") is not None:
        where = f"{incident['latitude']:.5f},{incident['longitude']:.5f}"
        where += f" r={incident.get('radius_m') or 0:g} m"
    cameras = ",".join(incident.get("cameras") or []) or "-"
    line = (
        f"{incident['incident_id']} {incident['status']} {incident['operator']}"
        f" {incident.get('kind') or '?'} {where} cameras={cameras}"
    )
    if incident.get("reason"):
        line += f" last refusal: {incident['reason']}"
    return line


def _await_decision(
    room: Any, incident_id: str, seen: str | None, wait_s: float
) -> dict[str, Any] | None:
    """The incident once the policy has decided on the command (its last event changed)."""
    from vigie.room_client import RoomError

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            incident: dict[str, Any] = room.get(f"/api/incidents/{incident_id}")
        except RoomError:
            incident = {}
        if incident and incident.get("last_event") != seen:
            return incident
        time.sleep(0.3)
    return None


def _decided(room: Any, incident_id: str, seen: str | None, args: argparse.Namespace) -> int:
    if args.wait <= 0:
        print(incident_id)
        return 0
    incident = _await_decision(room, incident_id, seen, args.wait)
    if incident is None:
        print(f"{incident_id} submitted; no decision within {args.wait:g} s (see `show`)")
        return 0
    print(_line(incident))
    return EXIT_REFUSED if incident.get("last_event_kind") == "refused" else 0


def _last_event(room: Any, incident_id: str) -> str | None:
    incident: dict[str, Any] = room.get(f"/api/incidents/{incident_id}")
    event: str | None = incident.get("last_event")
    return event


def _open(args: argparse.Namespace) -> int:
    with _client() as room:
        body = {
            "kind": args.kind,
            "latitude": args.lat,
            "longitude": args.lon,
            "radius_m": args.radius,
            "legal_basis": args.legal_basis,
        }
        accepted = room.post("/api/incidents", body)
        return _decided(room, accepted["incident_id"], None, args)


def _update(args: argparse.Namespace) -> int:
    body = {"latitude": args.lat, "longitude": args.lon, "radius_m": args.radius}
    with _client() as room:
        seen = _last_event(room, args.incident_id)
        room.request("PATCH", f"/api/incidents/{args.incident_id}", body)
        return _decided(room, args.incident_id, seen, args)


def _close(args: argparse.Namespace) -> int:
    with _client() as room:
        seen = _last_event(room, args.incident_id)
        room.post(f"/api/incidents/{args.incident_id}/close")
        return _decided(room, args.incident_id, seen, args)


def _list(_: argparse.Namespace) -> int:
    with _client() as room:
        for incident in room.get("/api/incidents"):
            print(_line(incident))
    return 0


def _show(args: argparse.Namespace) -> int:
    with _client() as room:
        print(_line(room.get(f"/api/incidents/{args.incident_id}")))
    return 0


def _hold(args: argparse.Namespace) -> int:
    action = "release" if args.incident_command == "release" else "hold"
    with _client() as room:
        result = room.post(f"/api/incidents/{args.incident_id}/{action}", {"reason": args.reason})
    verb = "released from legal hold" if action == "release" else "held"
    print(
        f"incident {args.incident_id}: {result['objects']} objects of {result['windows']}"
        f" windows {verb} (audited)"
    )
    return 0 if result["windows"] else 1


def register(sub: Subparsers) -> None:
    inc_sub = group(sub, "incident", "open, move, close and list incidents (via the room)")
    kinds = [k.value for k in IncidentKind]

    def waiting(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=DEFAULT_WAIT_S,
            help="seconds to wait for the policy's decision (0: print the id and return)",
        )

    op = add(inc_sub, "open", _open, "open an incident of your operator (prints the decision)")
    op.add_argument("--kind", required=True, choices=kinds)
    op.add_argument("--lat", type=float, required=True)
    op.add_argument("--lon", type=float, required=True)
    op.add_argument("--radius", type=float, required=True, help="metres")
    op.add_argument("--legal-basis", required=True, help="the legal basis invoked")
    waiting(op)

    up = add(inc_sub, "update", _update, "move and/or resize an open incident")
    up.add_argument("incident_id")
    up.add_argument("--lat", type=float)
    up.add_argument("--lon", type=float)
    up.add_argument("--radius", type=float, help="metres")
    waiting(up)

    cl = add(inc_sub, "close", _close, "close an incident: every grant is revoked")
    cl.add_argument("incident_id")
    waiting(cl)

    add(inc_sub, "list", _list, "the incidents that concern your operator")
    show = add(inc_sub, "show", _show, "one incident")
    show.add_argument("incident_id")
    for name, help_ in (
        ("hold", "legal hold on every archived chunk the incident's grants reached (audited)"),
        ("release", "lift the incident's legal hold (audited)"),
    ):
        hold = add(inc_sub, name, _hold, help_)
        hold.add_argument("incident_id")
        hold.add_argument("--reason", required=True, help="why, for the audit record")

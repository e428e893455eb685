"""Server-side sessions of the room, in memory (one process).

A session is a random token (`secrets.token_urlsafe(32)`) handed to the client once, as a
cookie or a bearer token; the server keeps only its SHA-256, so a memory dump does not reveal
usable tokens. A session ends after `idle` without a request, after `lifetime` in any case, at
logout, or when its user is disabled. Each session has its own CSRF token, required with every
state-changing request the browser authenticates by cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from consumers.room.roles import Role

__all__ = ["Session", "SessionStore"]

Clock = Callable[[], datetime]
DEFAULT_IDLE = timedelta(minutes=30)
DEFAULT_LIFETIME = timedelta(hours=12)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user: str
    operator: str
    roles: frozenset[Role]
    csrf_token: str
    created: datetime
    last_seen: datetime
    idle: timedelta
    lifetime: timedelta

    @property
    def expires_at(self) -> datetime:
        """When it ends if no further request comes."""
        return min(self.last_seen + self.idle, self.created + self.lifetime)

    def alive(self, now: datetime) -> bool:
        return now < self.expires_at


class SessionStore:
    def __init__(
        self,
        *,
        idle: timedelta = DEFAULT_IDLE,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Clock = _utcnow,
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, *, user: str, operator: str, roles: frozenset[Role]) -> tuple[str, Session]:
        """A new session; the token is returned here and never kept."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        session = Session(
            user=user,
            operator=operator,
            roles=roles,
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
            idle=self.idle,
            lifetime=self.lifetime,
        )
        with self._lock:
            self._sweep(now)
            self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str, *, touch: bool = True) -> Session | None:
        """The live session of `token` (its idle time restarts when `touch`), else None."""
        now = self._clock()
        key = _digest(token)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if not session.alive(now):
                del self._sessions[key]
                return None
            if touch:
                session = replace(session, last_seen=now)
                self._sessions[key] = session
            return session

    def revoke(self, token: str) -> bool:
        """Logout: True if the token had a session."""
        with self._lock:
            return self._sessions.pop(_digest(token), None) is not None

    def revoke_user(self, user: str) -> int:
        """End every session of `user` (disabled, password changed); how many ended."""
        with self._lock:
            keys = [k for k, s in self._sessions.items() if s.user == user]
            for k in keys:
                del self._sessions[k]
            return len(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, s in self._sessions.items() if not s.alive(now)]:
            del self._sessions[key]

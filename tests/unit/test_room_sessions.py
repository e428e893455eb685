"""Room sessions: random tokens kept only as hashes, idle timeout, absolute lifetime, logout,
one CSRF token per session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.room.roles import Role
from consumers.room.sessions import SessionStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROLES = frozenset({Role.VIEWER})


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _store(clock: Clock) -> SessionStore:
    return SessionStore(idle=timedelta(minutes=30), lifetime=timedelta(hours=12), clock=clock)


def test_a_session_lives_while_used_and_ends_when_idle() -> None:
    clock = Clock()
    sessions = _store(clock)
    token, session = sessions.create(user="alice", operator="stib", roles=ROLES)
    assert session.expires_at == T0 + timedelta(minutes=30)
    clock.now += timedelta(minutes=29)
    assert sessions.get(token) is not None
    clock.now += timedelta(minutes=29)  # 58 min after sign-in, 29 after the last request
    assert sessions.get(token) is not None
    clock.now += timedelta(minutes=30)
    assert sessions.get(token) is None
    assert len(sessions) == 0


def test_a_session_ends_after_its_lifetime_even_when_used() -> None:
    clock = Clock()
    sessions = _store(clock)
    token, _ = sessions.create(user="alice", operator="stib", roles=ROLES)
    while clock.now < T0 + timedelta(hours=11, minutes=30):
        clock.now += timedelta(minutes=20)
        assert sessions.get(token) is not None
    clock.now = T0 + timedelta(hours=12)
    assert sessions.get(token) is None


def test_a_check_without_touch_does_not_extend() -> None:
    clock = Clock()
    sessions = _store(clock)
    token, _ = sessions.create(user="alice", operator="stib", roles=ROLES)
    clock.now += timedelta(minutes=20)
    assert sessions.get(token, touch=False) is not None
    clock.now += timedelta(minutes=11)
    assert sessions.get(token) is None


def test_tokens_are_random_kept_hashed_with_their_own_csrf_token() -> None:
    sessions = _store(Clock())
    token1, s1 = sessions.create(user="alice", operator="stib", roles=ROLES)
    token2, s2 = sessions.create(user="alice", operator="stib", roles=ROLES)
    assert token1 != token2
    assert len(token1) >= 43  # 32 random bytes
    assert s1.csrf_token != s2.csrf_token
    assert token1 not in repr(sessions.__dict__)
    assert sessions.get("not-a-token") is None


def test_logout_and_revoking_a_user() -> None:
    sessions = _store(Clock())
    token1, _ = sessions.create(user="alice", operator="stib", roles=ROLES)
    token2, _ = sessions.create(user="alice", operator="stib", roles=ROLES)
    token3, _ = sessions.create(user="bob", operator="stib", roles=ROLES)
    assert sessions.revoke(token1)
    assert not sessions.revoke(token1)
    assert sessions.get(token1) is None
    assert sessions.revoke_user("alice") == 1
    assert sessions.get(token2) is None
    assert sessions.get(token3) is not None

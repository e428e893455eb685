"""What the demo prints first: the one incident room URL and a login per operator (and the
auditor), so whoever runs it can sign in to the page at once."""

from __future__ import annotations

from pathlib import Path

import vigie
from infra.local.settings import StackSettings
from schemas.config import load
from vigie.demo import ROOM_URL, _where_to_look
from vigie.demo_users import AUDITOR, demo_user

EXAMPLE = Path(vigie.__file__).parent / "examples" / "brussels.yaml"


def test_the_demo_prints_the_room_url_and_a_login_per_operator() -> None:
    config = load(EXAMPLE)
    users = [demo_user(o.id) for o in config.operators] + [AUDITOR]
    passwords = {user: f"pw-{i}" for i, user in enumerate(users)}
    text = _where_to_look(config, StackSettings.from_env(), passwords)
    assert f"{ROOM_URL}/" in text
    for operator in config.operators:
        line = next(ln for ln in text.splitlines() if demo_user(operator.id) in ln)
        assert passwords[demo_user(operator.id)] in line
        assert operator.id in line
    auditor = next(ln for ln in text.splitlines() if AUDITOR in ln)
    assert passwords[AUDITOR] in auditor
    assert "auditor" in auditor

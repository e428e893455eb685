"""Fixtures shared by every test.

The integration and end-to-end tests run against the real Kafka and MinIO, started here once
per test session with their own ports and state folder (`.state/test`), so a developer's
running demo stack is never touched. VIGIE_KEEP_STACK=1 leaves the stack running afterwards
(a warm re-run then skips the start-up).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from infra.local import stack
from infra.local.settings import REPO_ROOT, Connection, StackSettings
from runtime import connection as vigie_connection

TEST_ENV = {
    "VIGIE_STATE_DIR": str(REPO_ROOT / ".state" / "test"),
    "VIGIE_KAFKA_PORT": os.environ.get("VIGIE_TEST_KAFKA_PORT", "19092"),
    "VIGIE_KAFKA_CONTROLLER_PORT": os.environ.get("VIGIE_TEST_KAFKA_CONTROLLER_PORT", "19093"),
    "VIGIE_MINIO_PORT": os.environ.get("VIGIE_TEST_MINIO_PORT", "19000"),
    "VIGIE_MINIO_CONSOLE_PORT": os.environ.get("VIGIE_TEST_MINIO_CONSOLE_PORT", "19001"),
    # The tests' own clients (fixtures, provisioning) act as the admin; every `vigie` service a
    # test starts acts as its own principal (the policy worker as vigie-policy...).
    "VIGIE_PRINCIPAL": "vigie-admin",
}


@pytest.fixture(scope="session")
def stack_settings() -> StackSettings:
    return StackSettings.from_env({**os.environ, **TEST_ENV})


@pytest.fixture(scope="session")
def live_stack(stack_settings: StackSettings) -> Iterator[Connection]:
    """The real Kafka and MinIO for this test session; their address in the environment so
    that code under test (and subprocesses such as `vigie ...`) finds them."""
    if not any(s.answers for s in stack.status(stack_settings)):
        # A stack we start ourselves starts empty: test topics of earlier runs do not pile up.
        shutil.rmtree(stack_settings.state_dir, ignore_errors=True)
    conn = stack.up(stack_settings, timeout_s=120)
    saved = {k: os.environ.get(k) for k in TEST_ENV}
    os.environ.update(TEST_ENV)
    try:
        yield conn
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if not os.environ.get("VIGIE_KEEP_STACK"):
            stack.down(stack_settings)


@pytest.fixture(scope="session")
def kafka_bootstrap(live_stack: Connection) -> str:
    return live_stack.kafka_bootstrap


@pytest.fixture(scope="session")
def minio_client(live_stack: Connection) -> Minio:
    return vigie_connection.minio_client(live_stack)


@pytest.fixture
def unique() -> str:
    """A short unique suffix: each test gets its own operators, topics and buckets, so tests
    never see each other's data even though they share one broker."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT

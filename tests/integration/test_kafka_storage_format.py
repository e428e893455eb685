"""`kafka-storage format` from the real Kafka jars accepts a kept cluster id beginning with '-'
(such ids were generated in 1 of 64 state folders, and every later start failed on them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.local import kafka
from infra.local.settings import StackSettings

pytestmark = pytest.mark.integration

DASH_ID = "-AECAwQFBgcICQoLDA0ODw"


def test_real_storage_format_with_an_id_beginning_with_a_dash(tmp_path: Path) -> None:
    # Only the jars are needed (resolved into the cache like `vigie stack up` does), no broker.
    settings = StackSettings.from_env({**os.environ, "VIGIE_STATE_DIR": str(tmp_path)})
    kafka.ensure_jars(settings)
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "cluster-id").write_text(DASH_ID)
    kafka.ensure_formatted(settings)
    meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
    assert f"cluster.id={DASH_ID}\n" in meta

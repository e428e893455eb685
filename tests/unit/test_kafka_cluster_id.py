"""Kafka cluster ids: never beginning with '-', and passed to `kafka-storage format` so that an
id kept from earlier (which may begin with '-') is still read as the option's value."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import kafka
from infra.local.settings import StackSettings

# 16 bytes whose base64url form begins with '-' (first six bits 111110 = 62).
DASH_BYTES = b"\xf8" + bytes(range(1, 16))
DASH_ID = "-AECAwQFBgcICQoLDA0ODw"


def _decode(cluster_id: str) -> bytes:
    return base64.urlsafe_b64decode(cluster_id + "==")


def test_the_fixture_id_really_begins_with_a_dash() -> None:
    assert base64.urlsafe_b64encode(DASH_BYTES).decode().rstrip("=") == DASH_ID


def test_an_id_beginning_with_a_dash_is_drawn_again() -> None:
    draws: Iterator[bytes] = iter([DASH_BYTES, DASH_BYTES, bytes(16)[:15] + b"\x01"])
    cluster_id = kafka.new_cluster_id(lambda: next(draws))
    assert cluster_id == "AAAAAAAAAAAAAAAAAAAAAQ"


def test_generated_ids_are_valid_kafka_uuids_never_beginning_with_a_dash() -> None:
    # 2000 draws: with the old generator about 31 of them would begin with '-'.
    ids = [kafka.new_cluster_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert {len(i) for i in ids} == {22}
    assert all(len(_decode(i)) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_format_attaches_the_id_with_equals() -> None:
    args = kafka.format_args(DASH_ID, Path("/x/server.properties"))
    assert args[0] == "format"
    assert f"--cluster-id={DASH_ID}" in args
    assert DASH_ID not in args  # never a separate argument a parser could take for an option


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(kafka, "_java", lambda: "java")
    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_ensure_formatted_passes_a_kept_dash_id_with_equals(
    tmp_path: Path, captured: list[list[str]]
) -> None:
    settings = StackSettings.from_env({"VIGIE_STATE_DIR": str(tmp_path), "VIGIE_CACHE_DIR": "/c"})
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "cluster-id").write_text(DASH_ID + "\n")
    kafka.ensure_formatted(settings)
    [cmd] = captured
    args = cmd[cmd.index(kafka.TOOLS["storage"].main_class) + 1 :]
    assert args[:3] == [
        "format",
        f"--cluster-id={DASH_ID}",
        f"--config={tmp_path / 'kafka' / 'server.properties'}",
    ]
    # The admin's SCRAM credential is written into the metadata at format time.
    assert args[3] == "--add-scram"
    assert args[4].startswith("SCRAM-SHA-512=[name=vigie-admin,password=")


def test_ensure_formatted_writes_a_new_id_once(tmp_path: Path, captured: list[list[str]]) -> None:
    settings = StackSettings.from_env({"VIGIE_STATE_DIR": str(tmp_path), "VIGIE_CACHE_DIR": "/c"})
    kafka.ensure_formatted(settings)
    kept = (tmp_path / "kafka" / "cluster-id").read_text()
    assert len(_decode(kept)) == 16
    assert not kept.startswith("-")
    kafka.ensure_formatted(settings)  # not formatted (no meta.properties): the same id again
    assert [c for c in captured[1] if c.startswith("--cluster-id=")] == [f"--cluster-id={kept}"]

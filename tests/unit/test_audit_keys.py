"""The sealer's signing key: generated once into its private folder, public key published."""

from __future__ import annotations

import stat
from pathlib import Path

from runtime.audit_keys import (
    load_or_create_signing_key,
    public_keys_dir,
    published_public_keys,
    signing_key_path,
)
from schemas.audit_chain import key_id


def test_the_key_is_generated_once_private_and_its_public_key_published(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    again = load_or_create_signing_key(tmp_path)
    assert key_id(key.public_key()) == key_id(again.public_key())

    path = signing_key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over
    assert list(published_public_keys(tmp_path)) == [key_id(key.public_key())]
    assert (
        b"PRIVATE"
        not in (public_keys_dir(tmp_path) / f"{key_id(key.public_key())}.pem").read_bytes()
    )


def test_a_public_key_file_not_named_after_its_id_is_ignored(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path)
    published = public_keys_dir(tmp_path) / f"{key_id(key.public_key())}.pem"
    published.rename(public_keys_dir(tmp_path) / "0000000000000000.pem")
    assert published_public_keys(tmp_path) == {}

"""The sealer's audit signing key and the published public keys, in the state folder.

The private key is the policy workers' alone: ``<state>/policy/audit-signing-key.pem`` (PKCS#8
PEM; folder 0700, file 0600), generated on first need, never in the repository and never read
by any other service. Its public key is published next to the other public material as
``<state>/audit/keys/<key id>.pem`` (see ``schemas.audit_chain`` for the key id and format);
the audit archiver copies it into the object-locked ``vigie-audit`` bucket, where an auditor
finds it without access to the sealer's machine.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from runtime.credentials import write_private
from schemas.audit_chain import key_id, load_public_key_pem, public_key_pem
from schemas.errors import VigieError

__all__ = [
    "AuditKeyError",
    "load_or_create_signing_key",
    "public_keys_dir",
    "published_public_keys",
    "signing_key_path",
]

logger = logging.getLogger(__name__)


class AuditKeyError(VigieError):
    """The signing key in the state folder is unusable."""


def signing_key_path(state_dir: Path) -> Path:
    return state_dir / "policy" / "audit-signing-key.pem"


def public_keys_dir(state_dir: Path) -> Path:
    return state_dir / "audit" / "keys"


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise AuditKeyError(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} is not an Ed25519 key ({type(key).__name__})")
    return key


def _publish(state_dir: Path, public_key: Ed25519PublicKey) -> Path:
    path = public_keys_dir(state_dir) / f"{key_id(public_key)}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(public_key_pem(public_key))
        tmp.replace(path)
    return path


def load_or_create_signing_key(state_dir: Path) -> Ed25519PrivateKey:
    """The sealer's key, generated on first need; its public key published in the state folder.

    Several workers starting together agree on one key: each writes its candidate under a
    unique name and links it into place, and whoever loses the race loads the winner's."""
    path = signing_key_path(state_dir)
    if not path.exists():
        candidate = Ed25519PrivateKey.generate()
        pem = candidate.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        write_private(tmp, pem)
        try:
            os.link(tmp, path)
            logger.info("audit signing key generated: %s", key_id(candidate.public_key()))
        except FileExistsError:
            pass  # another worker was first: its key is the one
        finally:
            tmp.unlink()
    key = _load_private(path)
    _publish(state_dir, key.public_key())
    return key


def published_public_keys(state_dir: Path) -> dict[str, Ed25519PublicKey]:
    """The public keys published in the state folder, by key id (files whose name is not the
    id of their content are ignored with a warning)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(public_keys_dir(state_dir).glob("*.pem")):
        try:
            key = load_public_key_pem(path.read_bytes())
        except ValueError as exc:
            logger.warning("%s is not an Ed25519 public key, ignored: %s", path, exc)
            continue
        if key_id(key) != path.stem:
            logger.warning(
                "%s holds key %s, not the one it is named after: ignored", path, key_id(key)
            )
            continue
        keys[path.stem] = key
    return keys

"""Where the per-operator MinIO credentials live and how they are read and kept.

Provisioning generates an operator's secret once into the state folder (mode 0600, never in the
repository); the retrieval service reads it to act with that operator's own rights, so MinIO
enforces them again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "OperatorCredentials",
    "load_operator_credentials",
    "operator_credentials_path",
    "save_operator_credentials",
]


@dataclass(frozen=True)
class OperatorCredentials:
    """An operator's own MinIO user: it reads its archive bucket and nothing else."""

    operator: str
    access_key: str
    secret_key: str


def operator_credentials_path(state_dir: Path, operator: str) -> Path:
    return state_dir / "minio" / "operators" / f"{operator}.json"


def load_operator_credentials(state_dir: Path, operator: str) -> OperatorCredentials | None:
    path = operator_credentials_path(state_dir, operator)
    if not path.exists():
        return None
    return OperatorCredentials(**json.loads(path.read_text()))


def save_operator_credentials(state_dir: Path, creds: OperatorCredentials) -> None:
    path = operator_credentials_path(state_dir, creds.operator)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(asdict(creds)))
    tmp.replace(path)

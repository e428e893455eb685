"""MinIO, built with `go install` from the Go module proxy and run unmodified on loopback.

MinIO is AGPL: we run it as a separate server and never import its code. The binary is cached per
pinned version; root credentials are generated on the first start and kept in the state folder
(mode 0600), never in the repository.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.local.process import ManagedProcess
from infra.local.settings import StackSettings
from schemas.errors import VigieError

logger = logging.getLogger(__name__)

# MinIO tags releases as RELEASE.<date>, which Go modules see as pseudo-versions: pin one.
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"


class MinioSetupError(VigieError, RuntimeError):
    """MinIO could not be built or started."""


@dataclass(frozen=True)
class RootCredentials:
    access_key: str
    secret_key: str


def binary_path(settings: StackSettings) -> Path:
    return settings.cache_dir / f"minio-{MINIO_VERSION}" / "minio"


def ensure_binary(settings: StackSettings) -> Path:
    """Build the pinned MinIO server into the cache unless it is already there."""
    target = binary_path(settings)
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise MinioSetupError("Go is not on PATH: it builds MinIO from the Go module proxy")
    gobin = target.parent / "gobin.partial"
    shutil.rmtree(gobin, ignore_errors=True)
    gobin.mkdir(parents=True)
    logger.info("building MinIO %s with go install (a few minutes on a new machine)", MINIO_VERSION)
    env = {**os.environ, "GOBIN": str(gobin), "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0"}
    result = subprocess.run(
        [go, "install", f"{MINIO_MODULE}@{MINIO_VERSION}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    built = gobin / "minio"
    if result.returncode != 0 or not built.exists():
        raise MinioSetupError(
            f"go install {MINIO_MODULE}@{MINIO_VERSION} failed:\n{result.stderr[-4000:]}"
        )
    built.replace(target)
    shutil.rmtree(gobin, ignore_errors=True)
    return target


def root_credentials(settings: StackSettings) -> RootCredentials:
    """The root credentials of this state folder's MinIO, generated on first use."""
    path = settings.state_dir / "minio" / "root-credentials.json"
    if path.exists():
        return RootCredentials(**json.loads(path.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    creds = RootCredentials(access_key="vigie-root", secret_key=secrets.token_urlsafe(30))
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps({"access_key": creds.access_key, "secret_key": creds.secret_key}))
    tmp.replace(path)
    return creds


def process(settings: StackSettings) -> ManagedProcess:
    data = settings.state_dir / "minio" / "data"
    return ManagedProcess(
        name="minio",
        pid_file=settings.run_dir / "minio.pid",
        log_file=settings.logs_dir / "minio.log",
        marker=str(data),
    )


def start(settings: StackSettings) -> int:
    binary = ensure_binary(settings)
    creds = root_credentials(settings)
    data = settings.state_dir / "minio" / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(settings.state_dir)),
        "MINIO_ROOT_USER": creds.access_key,
        "MINIO_ROOT_PASSWORD": creds.secret_key,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",
    }
    argv = [
        str(binary),
        "server",
        "--quiet",
        "--address",
        settings.minio_endpoint,
        "--console-address",
        f"127.0.0.1:{settings.minio_console_port}",
        str(data),
    ]
    return process(settings).start(argv, env=env)


def answers(endpoint: str, timeout_s: float = 2.0) -> bool:
    """True when MinIO's readiness endpoint says it can serve requests."""
    url = f"http://{endpoint}/minio/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False

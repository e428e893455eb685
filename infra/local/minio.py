"""MinIO, built with `go install` from the Go module proxy and run unmodified on loopback.

MinIO is AGPL: we run it as a separate server and never import its code. The binary is cached per
pinned version; root credentials are generated on the first start and kept in the state folder
(mode 0600), never in the repository.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from infra.local.process import ManagedProcess
from infra.local.settings import StackSettings
from infra.local.tls import ensure_tls, tls_files
from runtime.credentials import write_private
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
    creds = RootCredentials(access_key="vigie-root", secret_key=secrets.token_urlsafe(30))
    write_private(
        path, json.dumps({"access_key": creds.access_key, "secret_key": creds.secret_key})
    )
    return creds


KMS_KEY_NAME = "vigie-at-rest"


def kms_key(settings: StackSettings) -> str:
    """``<name>:<base64 of 32 random bytes>``, generated once into the state folder (0600)."""
    path = settings.state_dir / "minio" / "kms-key"
    if not path.exists():
        write_private(path, f"{KMS_KEY_NAME}:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    return path.read_text().strip()


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
    certs = _certs_dir(settings)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(settings.state_dir)),
        "MINIO_ROOT_USER": creds.access_key,
        "MINIO_ROOT_PASSWORD": creds.secret_key,
        # MinIO's built-in KMS with a key of this state folder: buckets that ask for it
        # (every Vigie bucket, see infra.provision.ensure_buckets) are encrypted at rest.
        "MINIO_KMS_SECRET_KEY": kms_key(settings),
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
        "--certs-dir",
        str(certs),
        str(data),
    ]
    return process(settings).start(argv, env=env)


def _certs_dir(settings: StackSettings) -> Path:
    """MinIO serves HTTPS only, with the stack's server certificate (public.crt, private.key
    in its certs folder; the CA's certificate is what clients trust)."""
    tls = ensure_tls(settings.state_dir / "tls")
    certs = settings.state_dir / "minio" / "certs"
    certs.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(tls.server_cert, certs / "public.crt")
    write_private(certs / "private.key", tls.server_key.read_bytes())
    return certs


def runs_without_tls(settings: StackSettings) -> bool:
    """A MinIO of this state folder runs, started before it had a certificate."""
    certs = settings.state_dir / "minio" / "certs" / "public.crt"
    return process(settings).pid() is not None and not certs.exists()


def ca_file(settings: StackSettings) -> Path:
    return tls_files(settings.state_dir / "tls").ca_cert


def answers(endpoint: str, ca: Path, timeout_s: float = 2.0) -> bool:
    """True when MinIO's readiness endpoint says, over verified TLS, it can serve requests."""
    if not ca.exists():
        return False
    url = f"https://{endpoint}/minio/health/ready"
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False

"""The local stack as one unit: `vigie stack up | down | status | logs`.

`up` is idempotent (running services are left alone), waits until each service really answers,
and on failure names the service and its log file. `down` stops by pid what `up` started.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.local import kafka, minio
from infra.local.process import ManagedProcess
from infra.local.settings import Connection, StackSettings
from infra.local.tls import tls_files
from schemas.errors import VigieError

logger = logging.getLogger(__name__)


class StackError(VigieError, RuntimeError):
    """A service of the stack did not come up."""


@dataclass(frozen=True)
class Service:
    name: str
    address: str
    process: ManagedProcess
    start: Callable[[], int]
    answers: Callable[[], bool]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    answers: bool
    address: str
    log_file: Path

    def line(self) -> str:
        state = "up" if self.answers else ("starting/unhealthy" if self.pid else "down")
        pid = f"pid {self.pid}" if self.pid else "no process"
        return f"{self.name:6} {state:18} {self.address:16} {pid:12} log {self.log_file}"


def services(settings: StackSettings) -> list[Service]:
    return [
        Service(
            "kafka",
            settings.kafka_bootstrap,
            kafka.process(settings),
            lambda: kafka.start(settings),
            lambda: asyncio.run(kafka.answers(settings)),
        ),
        Service(
            "minio",
            settings.minio_endpoint,
            minio.process(settings),
            lambda: minio.start(settings),
            lambda: minio.answers(settings.minio_endpoint, minio.ca_file(settings)),
        ),
    ]


def status(settings: StackSettings) -> list[ServiceStatus]:
    return [
        ServiceStatus(s.name, s.process.pid(), s.answers(), s.address, s.process.log_file)
        for s in services(settings)
    ]


def _wait_until_answers(service: Service, timeout_s: float) -> float:
    started = time.monotonic()
    proc = service.process
    while time.monotonic() - started < timeout_s:
        if service.answers():
            return time.monotonic() - started
        if proc.pid() is None:
            raise StackError(
                f"{service.name} exited during start-up; see {proc.log_file}:\n"
                f"{tail(proc.log_file, 15)}"
            )
        time.sleep(0.3)
    raise StackError(
        f"{service.name} did not answer within {timeout_s:.0f} s; see {proc.log_file}:\n"
        f"{tail(proc.log_file, 15)}"
    )


def up(settings: StackSettings, timeout_s: float = 90.0) -> Connection:
    """Fetch/build what is missing, start what is not running, wait until both answer."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Secrets, data and logs live below: nobody but the owner may even list them.
    settings.state_dir.chmod(0o700)
    # Fetch and build first (slow on a new machine), then start both so their start-ups overlap.
    kafka.ensure_jars(settings)
    minio.ensure_binary(settings)
    if kafka.runs_unsecured(settings):
        logger.warning("the running Kafka predates authentication: restarting it secured")
        kafka.process(settings).stop()
    if minio.runs_without_tls(settings):
        logger.warning("the running MinIO serves plain HTTP: restarting it with TLS")
        minio.process(settings).stop()
    stack = services(settings)
    for service in stack:
        if service.process.pid() is None and service.answers():
            raise StackError(
                f"{service.name}: another process already answers on {service.address}; "
                "stop it or choose other ports (VIGIE_KAFKA_PORT, VIGIE_MINIO_PORT, ...)"
            )
        service.start()
    for service in stack:
        waited = _wait_until_answers(service, timeout_s)
        logger.info("%s answers on %s (waited %.1f s)", service.name, service.address, waited)
    creds = minio.root_credentials(settings)
    connection = Connection(
        kafka_bootstrap=settings.kafka_bootstrap,
        minio_endpoint=settings.minio_endpoint,
        minio_access_key=creds.access_key,
        minio_secret_key=creds.secret_key,
        kafka_ca_file=str(tls_files(settings.state_dir / "tls").ca_cert),
        minio_ca_file=str(tls_files(settings.state_dir / "tls").ca_cert),
    )
    connection.write(settings.connection_file)
    return connection


def down(settings: StackSettings) -> list[str]:
    """Stop the services this state folder started; returns the names stopped."""
    # MinIO first: nothing depends on it at shutdown, while clients may still flush to Kafka.
    stopped = [s.name for s in reversed(services(settings)) if s.process.stop()]
    settings.connection_file.unlink(missing_ok=True)
    return stopped


def log_files(settings: StackSettings) -> dict[str, Path]:
    return {s.name: s.process.log_file for s in services(settings)}


def tail(path: Path, lines: int) -> str:
    """The last lines of a log file (for error messages and `vigie stack logs`)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"

"""The ceiling a Kafka stage is held to: ``../shared/tools/kafka-baseline`` run in the same
session as the benchmark it anchors, on the same stack, as the admin, over TLS and SCRAM.

kafka-baseline configures each client as its documentation advises for large records (1 MiB
batches, no compression, idempotent producer, a short fetch backoff for librdkafka) and measures
produce, consume and relay (consume -> produce, acknowledged per batch) for aiokafka and
confluent-kafka. A benchmark compares itself with the best figure of the path it is (the best
produce for a publisher, the best relay for a router), same record size and partitions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from infra.local.settings import REPO_ROOT
from runtime import connection
from runtime.identity import kafka_auth

__all__ = ["TOOL", "best", "kafka_baseline"]

TOOL = REPO_ROOT.parent / "shared" / "tools" / "kafka-baseline"
_ROW = re.compile(r"^\| (aiokafka|confluent-kafka) (produce|consume|relay) \| (\d+) \|")


def kafka_baseline(size: int, records: int, partitions: int) -> dict[str, float]:
    """Records/s of every path kafka-baseline measures, e.g. ``{"confluent-kafka relay": …}``."""
    if not TOOL.exists():
        raise SystemExit(f"{TOOL} is missing: the baseline of this benchmark cannot be measured")
    conn = connection.load()
    auth = kafka_auth()
    out = subprocess.run(
        [
            sys.executable, str(TOOL), "--bootstrap", conn.kafka_bootstrap,
            "--size", str(size), "--records", str(records), "--partitions", str(partitions),
            "--sasl-user", auth.username, "--sasl-password", auth.password,
            "--cafile", str(auth.ca_file),
        ],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout  # fmt: skip
    rates: dict[str, float] = {}
    for line in out.splitlines():
        match = _ROW.match(line)
        if match:
            rates[f"{match.group(1)} {match.group(2)}"] = float(match.group(3))
    if not rates:
        raise SystemExit(f"kafka-baseline printed no figures:\n{out}")
    return rates


def best(rates: dict[str, float], path: str) -> tuple[str, float]:
    """The best client's figure for `path` ("produce", "consume" or "relay")."""
    name, rate = max(((n, r) for n, r in rates.items() if n.endswith(path)), key=lambda x: x[1])
    return name, rate


if __name__ == "__main__":  # a quick look: python -m bench.baseline
    from runtime.identity import act_as_admin

    act_as_admin()
    print(json.dumps(kafka_baseline(30_000, 10_000, 1), indent=1))

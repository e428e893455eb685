"""Apache Kafka 4.x in KRaft mode, single node, from Maven Central jars on the machine's JDK.

The jars are resolved once into the cache by `mvn dependency:copy-dependencies` on
infra/kafka/pom.xml (the cache folder is named after the pom's hash, so a version bump
re-resolves). Storage is formatted once per state folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from infra.local.process import ManagedProcess
from infra.local.settings import StackSettings

logger = logging.getLogger(__name__)

INFRA_DIR = Path(__file__).resolve().parents[1]
POM = INFRA_DIR / "kafka" / "pom.xml"
BROKER_LOG4J = INFRA_DIR / "local" / "log4j2-broker.properties"
TOOLS_LOG4J = INFRA_DIR / "local" / "log4j2-tools.properties"

# Frames are JPEGs of up to a few MiB (1080p at high quality); the broker, topics, producers and
# consumers must all accept them, or a consumer stalls on a batch it may not fetch.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

# Kafka's own operations tools, by the name of their shell script in a Kafka distribution.
TOOLS: dict[str, str] = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "configs": "kafka.admin.ConfigCommand",
    "acls": "org.apache.kafka.tools.AclCommand",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "storage": "kafka.tools.StorageTool",
}


class KafkaSetupError(RuntimeError):
    """Kafka could not be fetched, formatted or started."""


def libs_dir(settings: StackSettings) -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.cache_dir / f"kafka-{digest}" / "libs"


def ensure_jars(settings: StackSettings) -> Path:
    """Resolve the broker and tool jars into the cache unless they are already there."""
    target = libs_dir(settings)
    if (target / ".complete").exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaSetupError("Maven (mvn) is not on PATH: it resolves the Kafka jars")
    staging = target.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    logger.info("resolving Kafka jars from Maven Central into %s", target)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise KafkaSetupError(
            f"mvn failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaSetupError("java is not on PATH (JDK 17 runs the broker)")
    return java


def java_command(
    settings: StackSettings,
    main_class: str,
    args: Sequence[str],
    log4j: Path = TOOLS_LOG4J,
    heap: str = "256m",
) -> list[str]:
    classpath = str(libs_dir(settings) / "*")
    return [
        _java(),
        f"-Xmx{heap}",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        classpath,
        main_class,
        *args,
    ]


def tool_command(settings: StackSettings, tool: str, args: Sequence[str]) -> list[str]:
    try:
        main_class = TOOLS[tool]
    except KeyError:
        raise KafkaSetupError(
            f"unknown Kafka tool {tool!r}; known: {', '.join(sorted(TOOLS))}"
        ) from None
    return java_command(settings, main_class, args)


def server_properties(settings: StackSettings) -> str:
    data = settings.state_dir / "kafka" / "data"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{settings.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{settings.kafka_port},CONTROLLER://127.0.0.1:{settings.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{settings.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            # Topics come from the catalogue only (`vigie topics provision`): a typo in a topic
            # name must fail, not silently create an unguarded topic.
            "auto.create.topics.enable=false",
            f"message.max.bytes={MAX_MESSAGE_BYTES}",
            f"replica.fetch.max.bytes={MAX_MESSAGE_BYTES}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


def process(settings: StackSettings) -> ManagedProcess:
    return ManagedProcess(
        name="kafka",
        pid_file=settings.run_dir / "kafka.pid",
        log_file=settings.logs_dir / "kafka.log",
        marker=str(settings.state_dir / "kafka" / "server.properties"),
    )


def ensure_formatted(settings: StackSettings) -> Path:
    """Write the broker config and format KRaft storage once per state folder."""
    kafka_dir = settings.state_dir / "kafka"
    kafka_dir.mkdir(parents=True, exist_ok=True)
    props = kafka_dir / "server.properties"
    props.write_text(server_properties(settings))
    if (kafka_dir / "data" / "meta.properties").exists():
        return props
    cluster_id_file = kafka_dir / "cluster-id"
    if not cluster_id_file.exists():
        # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
        import base64

        cluster_id_file.write_text(
            base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        )
    cluster_id = cluster_id_file.read_text().strip()
    cmd = tool_command(settings, "storage", ["format", "-t", cluster_id, "-c", str(props)])
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaSetupError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
    return props


def start(settings: StackSettings) -> int:
    ensure_jars(settings)
    props = ensure_formatted(settings)
    cmd = java_command(settings, "kafka.Kafka", [str(props)], log4j=BROKER_LOG4J, heap="1g")
    return process(settings).start(cmd)


async def answers(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when the broker answers a metadata request (what every client does first)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    # A refused connection is the expected answer while the broker starts: do not log it.
    client_logger = logging.getLogger("aiokafka")
    level = client_logger.level
    client_logger.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s + 1)
        return bool(client.cluster.brokers())
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()
        client_logger.setLevel(level)

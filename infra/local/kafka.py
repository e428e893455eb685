"""Apache Kafka 4.x in KRaft mode, single node, from Maven Central jars on the machine's JDK.

The jars are resolved once into the cache by `mvn dependency:copy-dependencies` on
infra/kafka/pom.xml (the cache folder is named after the pom's hash, so a version bump
re-resolves). Storage is formatted once per state folder.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from infra.local.process import ManagedProcess
from infra.local.settings import StackSettings
from infra.local.tls import SERVER_CN, TlsFiles, ensure_tls, tls_files
from runtime import kafka_clients
from runtime.credentials import KafkaUser, load_kafka_user, save_kafka_user, write_private
from runtime.identity import KafkaAuth
from schemas.errors import VigieError
from schemas.security import ADMIN

logger = logging.getLogger(__name__)

INFRA_DIR = Path(__file__).resolve().parents[1]
POM = INFRA_DIR / "kafka" / "pom.xml"
BROKER_LOG4J = INFRA_DIR / "local" / "log4j2-broker.properties"
TOOLS_LOG4J = INFRA_DIR / "local" / "log4j2-tools.properties"

# Frames are JPEGs of up to a few MiB (1080p at high quality); the broker, topics, producers and
# consumers must all accept them, or a consumer stalls on a batch it may not fetch.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class Bootstrap(enum.Enum):
    """How a Kafka tool is told which cluster to talk to (each tool's --help, Kafka 4.1)."""

    NONE = "none"  # works on local files only (kafka-storage)
    OPTION = "option"  # --bootstrap-server HOST:PORT, before any subcommand
    SUBCOMMAND_OPTION = "subcommand-option"  # --bootstrap-server after the subcommand
    PRODUCER_PROPS = "producer-props"  # --producer-props bootstrap.servers=HOST:PORT


@dataclass(frozen=True)
class Tool:
    main_class: str
    bootstrap: Bootstrap = Bootstrap.OPTION
    client_config: str | None = "--command-config"
    """The option that names the client properties file (TLS, SASL), per the tool's --help."""


# Kafka's own operations tools, by the name of their shell script in a Kafka distribution
# (kafka-<name>.sh) without the prefix.
TOOLS: dict[str, Tool] = {
    "topics": Tool("org.apache.kafka.tools.TopicCommand"),
    "consumer-groups": Tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"),
    "groups": Tool("org.apache.kafka.tools.GroupsCommand"),
    "console-consumer": Tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer", client_config="--consumer.config"
    ),
    "console-producer": Tool(
        "org.apache.kafka.tools.ConsoleProducer", client_config="--producer.config"
    ),
    # ProducerPerformance has no --bootstrap-server in 4.1 (only --producer-props/-config).
    "producer-perf-test": Tool(
        "org.apache.kafka.tools.ProducerPerformance",
        Bootstrap.PRODUCER_PROPS,
        client_config="--producer.config",
    ),
    "consumer-perf-test": Tool(
        "org.apache.kafka.tools.ConsumerPerformance", client_config="--consumer.config"
    ),
    "configs": Tool("kafka.admin.ConfigCommand"),
    "acls": Tool("org.apache.kafka.tools.AclCommand"),
    "get-offsets": Tool("org.apache.kafka.tools.GetOffsetShell"),
    "delete-records": Tool("org.apache.kafka.tools.DeleteRecordsCommand"),
    "log-dirs": Tool("org.apache.kafka.tools.LogDirsCommand"),
    "reassign-partitions": Tool("org.apache.kafka.tools.reassign.ReassignPartitionsCommand"),
    "leader-election": Tool(
        "org.apache.kafka.tools.LeaderElectionCommand", client_config="--admin.config"
    ),
    "transactions": Tool("org.apache.kafka.tools.TransactionsCommand"),
    "broker-api-versions": Tool("org.apache.kafka.tools.BrokerApiVersionsCommand"),
    "features": Tool("org.apache.kafka.tools.FeatureCommand"),
    "metadata-quorum": Tool("org.apache.kafka.tools.MetadataQuorumCommand"),
    # kafka-cluster takes the cluster as an option of its subcommand (cluster-id, list-endpoints…).
    "cluster": Tool(
        "org.apache.kafka.tools.ClusterTool", Bootstrap.SUBCOMMAND_OPTION, client_config="--config"
    ),
    "storage": Tool("kafka.tools.StorageTool", Bootstrap.NONE, client_config=None),
}


def _names_cluster(style: Bootstrap, args: Sequence[str]) -> bool:
    """True when the user's arguments already say which cluster (or controller) to talk to."""
    for arg in args:
        # --bootstrap-server / --bootstrap-controller, with '=' or abbreviated as the parsers allow
        if arg.startswith("--bootstrap"):
            return True
        if style is Bootstrap.SUBCOMMAND_OPTION and arg[:2] in ("-b", "-C"):
            return True
        if style is Bootstrap.PRODUCER_PROPS and arg.startswith("bootstrap.servers="):
            return True
    return False


def with_bootstrap(tool: str, args: Sequence[str], bootstrap: str) -> list[str]:
    """The tool's arguments with the stack's bootstrap address added the way that tool takes it,
    unless the user named a cluster already."""
    style = TOOLS[tool].bootstrap
    args = list(args)
    if style is Bootstrap.NONE or _names_cluster(style, args):
        return args
    if style is Bootstrap.OPTION:
        return ["--bootstrap-server", bootstrap, *args]
    if style is Bootstrap.SUBCOMMAND_OPTION:
        # After the subcommand, the first argument that is not an option; without one the tool
        # only prints its usage, and needs no cluster.
        for i, arg in enumerate(args):
            if not arg.startswith("-"):
                return [*args[: i + 1], "--bootstrap-server", bootstrap, *args[i + 1 :]]
        return args
    # PRODUCER_PROPS: --producer-props takes a list and a second occurrence would replace the
    # first, so the address joins the user's list when there is one ("--producer-props=a=b"
    # holds a single value: it is split so that the list can grow).
    prop = f"bootstrap.servers={bootstrap}"
    for i, arg in enumerate(args):
        if arg == "--producer-props":
            return [*args[: i + 1], prop, *args[i + 1 :]]
        if arg.startswith("--producer-props="):
            value = arg.removeprefix("--producer-props=")
            return [*args[:i], "--producer-props", value, prop, *args[i + 1 :]]
    return ["--producer-props", prop, *args]


def with_client_config(tool: str, args: Sequence[str], config_file: Path) -> list[str]:
    """The tool's arguments with the client properties file (how to authenticate) added the
    way that tool takes it, unless the user gave one."""
    option = TOOLS[tool].client_config
    args = list(args)
    if option is None or any(a == option or a.startswith(f"{option}=") for a in args):
        return args
    if TOOLS[tool].bootstrap is Bootstrap.SUBCOMMAND_OPTION:
        for i, arg in enumerate(args):
            if not arg.startswith("-"):
                return [*args[: i + 1], option, str(config_file), *args[i + 1 :]]
        return args
    return [option, str(config_file), *args]


def tools_client_config(settings: StackSettings) -> Path:
    """The admin's client properties for Kafka's own tools (0600: it holds the password)."""
    admin = admin_user(settings)
    path = settings.state_dir / "kafka" / "tools-admin.properties"
    lines = [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        f"sasl.jaas.config={_scram_jaas(admin)}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={tls_files(settings.state_dir / 'tls').ca_cert}",
        "",
    ]
    write_private(path, "\n".join(lines))
    return path


def _scram_jaas(user: KafkaUser) -> str:
    """The JAAS line that logs `user` in with SCRAM (the broker's own and the tools')."""
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="{user.username}" password="{user.password}";'
    )


class KafkaSetupError(VigieError, RuntimeError):
    """Kafka could not be fetched, formatted or started."""


def libs_dir(settings: StackSettings) -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.cache_dir / f"kafka-{digest}" / "libs"


def ensure_jars(settings: StackSettings) -> Path:
    """Resolve the broker and tool jars into the cache unless they are already there."""
    target = libs_dir(settings)
    if (target / ".complete").exists():
        return target
    _java()  # Maven runs on the JDK too: say that it is missing, not Maven's JAVA_HOME story
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
        output = (result.stdout + result.stderr).strip().splitlines()
        logger.error("mvn output:\n%s", "\n".join(output[-60:]))
        last = output[-1] if output else "no output"
        raise KafkaSetupError(
            f"mvn could not resolve the Kafka jars (exit {result.returncode}): {last}"
            " (its output is in the log above)"
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
    jvm_options: Sequence[str] = (),
) -> list[str]:
    classpath = str(libs_dir(settings) / "*")
    return [
        _java(),
        f"-Xmx{heap}",
        *jvm_options,
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        classpath,
        main_class,
        *args,
    ]


def tool_command(settings: StackSettings, tool: str, args: Sequence[str]) -> list[str]:
    try:
        main_class = TOOLS[tool].main_class
    except KeyError:
        raise KafkaSetupError(
            f"unknown Kafka tool {tool!r}; known: {', '.join(sorted(TOOLS))}"
        ) from None
    return java_command(settings, main_class, args)


SECURITY_MARKER = "secured-v1"
"""Written beside the data once storage was formatted with the admin's SCRAM credentials: a
state folder formatted before security existed is formatted again (its data is dropped)."""


def runs_unsecured(settings: StackSettings) -> bool:
    """A Kafka of this state folder runs, started before its storage had authentication."""
    marker = settings.state_dir / "kafka" / SECURITY_MARKER
    return process(settings).pid() is not None and not marker.exists()


def admin_user(settings: StackSettings) -> KafkaUser:
    """The admin principal's credentials, generated once into the state folder (0600)."""
    user = load_kafka_user(settings.state_dir, ADMIN)
    if user is None:
        user = KafkaUser(ADMIN, secrets.token_urlsafe(24))
        save_kafka_user(settings.state_dir, user)
    return user


def server_properties(settings: StackSettings, tls: TlsFiles, admin: KafkaUser) -> str:
    """Clients reach the broker only over SASL_SSL (SCRAM-SHA-512, TLS from the stack's CA);
    the controller listener takes only mutual TLS with a certificate of that CA, which the
    broker itself presents. Nothing is allowed where no ACL says so; the admin and the broker
    are the only super users."""
    data = settings.state_dir / "kafka" / "data"
    jaas = _scram_jaas(admin)
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{settings.controller_port}",
            f"listeners=SASL_SSL://127.0.0.1:{settings.kafka_port},CONTROLLER://127.0.0.1:{settings.controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{settings.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "inter.broker.listener.name=SASL_SSL",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls.server_pem}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls.ca_cert}",
            "listener.name.controller.ssl.client.auth=required",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{admin.username};User:CN={SERVER_CN}",
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


def new_cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A Kafka cluster id: 16 random bytes in URL-safe base64 without padding (22 characters).

    Like Kafka's own Uuid.randomUuid(), draws again when the id would begin with '-' (1 in 64
    draws): command-line parsers take such an id for an option, not for a value.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(random_bytes()).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def format_args(cluster_id: str, props: Path, admin: KafkaUser | None = None) -> list[str]:
    """The arguments of `kafka-storage format`. The id is attached with '=': a state folder may
    keep an id that begins with '-' (written before new_cluster_id avoided them), which as a
    separate argument would be read as an option ("--cluster-id: expected one argument").
    The admin's SCRAM credentials are written into the metadata log at format time: the broker
    needs them to authenticate to itself before any user can be created."""
    args = ["format", f"--cluster-id={cluster_id}", f"--config={props}"]
    if admin is not None:
        scram = f"SCRAM-SHA-512=[name={admin.username},password={admin.password}]"
        args += ["--add-scram", scram]
    return args


def ensure_formatted(settings: StackSettings) -> Path:
    """Write the broker config and format KRaft storage once per state folder."""
    kafka_dir = settings.state_dir / "kafka"
    kafka_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tls = ensure_tls(settings.state_dir / "tls")
    admin = admin_user(settings)
    props = kafka_dir / "server.properties"
    write_private(props, server_properties(settings, tls, admin))  # the admin's password
    marker = kafka_dir / SECURITY_MARKER
    if (kafka_dir / "data" / "meta.properties").exists():
        if marker.exists():
            return props
        logger.warning(
            "%s was formatted without authentication: formatting it again (its topics are lost)",
            kafka_dir / "data",
        )
        shutil.rmtree(kafka_dir / "data")
    cluster_id_file = kafka_dir / "cluster-id"
    if not cluster_id_file.exists():
        cluster_id_file.write_text(new_cluster_id())
    cluster_id = cluster_id_file.read_text().strip()
    cmd = tool_command(settings, "storage", format_args(cluster_id, props, admin))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaSetupError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")
    marker.touch()
    return props


BROKER_HEAP = "1g"
BROKER_JVM_OPTIONS = (
    # Kafka's documented JVM settings (operations, "Java version"), at this stack's heap. The
    # 16 MiB regions matter most: with the JVM's default of 1 MiB on a 1 GiB heap, every
    # 1 MiB batch of frames is a "humongous" object, and their allocation triggered a young
    # pause of 20-37 ms several times a second while a backlog of frames was relayed.
    f"-Xms{BROKER_HEAP}",
    "-XX:MetaspaceSize=96m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:G1HeapRegionSize=16M",
    "-XX:MinMetaspaceFreeRatio=50",
    "-XX:MaxMetaspaceFreeRatio=80",
    "-XX:+ExplicitGCInvokesConcurrent",
)


def start(settings: StackSettings) -> int:
    ensure_jars(settings)
    props = ensure_formatted(settings)
    gc_log = settings.logs_dir / "kafka-gc.log"
    cmd = java_command(
        settings,
        "kafka.Kafka",
        [str(props)],
        log4j=BROKER_LOG4J,
        heap=BROKER_HEAP,
        jvm_options=[
            *BROKER_JVM_OPTIONS,
            # The GC log, as kafka-server-start.sh keeps it (smaller: a local stack).
            f"-Xlog:gc*:file={gc_log}:time,tags:filecount=5,filesize=20M",
        ],
    )
    return process(settings).start(cmd)


def admin_auth(settings: StackSettings) -> KafkaAuth:
    return KafkaAuth(
        ADMIN, admin_user(settings).password, tls_files(settings.state_dir / "tls").ca_cert
    )


async def answers(settings: StackSettings, timeout_s: float = 2.0) -> bool:
    """True when the broker answers the admin's metadata request (what every client does
    first): TLS, authentication and the broker itself work."""
    if not tls_files(settings.state_dir / "tls").ca_cert.exists():
        return False
    client = AIOKafkaClient(
        bootstrap_servers=settings.kafka_bootstrap,
        request_timeout_ms=int(timeout_s * 1000),
        **kafka_clients.security(admin_auth(settings)),
    )
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

"""The broker itself enforces each operator's rights: kcat, an independent client, with operator
A's own credentials is refused another operator's frames, shared frames and incidents, the full
incident stream, writing grants or
the audit chain, and joining the archiver's group; without credentials, or in plaintext, it
does not even connect.

Debian's kcat links librdkafka 2.0.2, whose SCRAM proof Kafka 4 refuses (librdkafka#4895, fixed
in 2.6.1): it runs here on the librdkafka that the confluent-kafka wheel bundles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

import confluent_kafka
import pytest

from runtime import connection
from runtime.credentials import load_kafka_user
from schemas.security import camera_principal, operator_principal
from schemas.topics import AUDIT, GRANTS, INCIDENTS, frames_topic, incidents_topic, shared_topic
from vigie.provisioning import provision_operator_topics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kcat_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed: run infra/local/test-peers.sh")
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    (bundled,) = libs.glob("librdkafka*.so*")
    folder = tmp_path_factory.mktemp("librdkafka")
    (folder / "librdkafka.so.1").symlink_to(bundled)
    return {**os.environ, "LD_LIBRARY_PATH": str(folder)}


@pytest.fixture(scope="module")
async def operators(kafka_bootstrap: str) -> tuple[str, str]:
    unique = uuid.uuid4().hex[:6]
    a, b = f"sec-a-{unique}", f"sec-b-{unique}"
    await provision_operator_topics(kafka_bootstrap, [a, b])
    return a, b


def _credentials(operator: str, principal: str | None = None) -> list[str]:
    user = load_kafka_user(connection.state_dir(), principal or operator_principal(operator))
    assert user is not None
    return ["-X", f"sasl.username={user.username}", "-X", f"sasl.password={user.password}"]


def _kcat(
    env: dict[str, str], bootstrap: str, *args: str, auth: Sequence[str], stdin: str = ""
) -> str:
    ca = connection.load().kafka_ca_file
    result = subprocess.run(
        ["kcat", "-b", bootstrap, "-X", f"ssl.ca.location={ca}", *auth, "-m", "10", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


SASL = ["-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-512"]


def test_an_operators_cameras_write_and_its_reader_reads_its_own_frames(
    kcat_env: dict[str, str], kafka_bootstrap: str, operators: tuple[str, str]
) -> None:
    """The control: the refusals below are the ACLs, not a broken connection. The cameras'
    principal writes and reads nothing; the operator's reads and writes nothing."""
    a, _ = operators
    cams = [*SASL, *_credentials(a, camera_principal(a))]
    reader = [*SASL, *_credentials(a)]
    out = _kcat(kcat_env, kafka_bootstrap, "-P", "-t", frames_topic(a), auth=cams, stdin="x\n")
    assert "ERROR" not in out, out
    assert "failed" not in out, out
    out = _kcat(kcat_env, kafka_bootstrap, "-C", "-t", frames_topic(a), "-c", "1", auth=reader)
    assert out.splitlines()[0] == "x", out
    for topic in (frames_topic(a), shared_topic(a), incidents_topic(a)):
        out = _kcat(kcat_env, kafka_bootstrap, *READ, topic, auth=cams)
        assert TOPIC_REFUSED in out, (topic, out)
    out = _kcat(kcat_env, kafka_bootstrap, "-P", "-t", frames_topic(a), auth=reader,
                stdin="forged\n")  # fmt: skip
    assert TOPIC_REFUSED in out, out


TOPIC_REFUSED = "Topic authorization failed"
GROUP_REFUSED = "Group authorization failed"
READ = ("-C", "-c", "1", "-e", "-t")


@pytest.mark.parametrize(
    ("what", "args", "stdin", "refusal"),
    [
        ("read frames.B", (*READ, "{frames_b}"), "", TOPIC_REFUSED),
        ("read shared.B", (*READ, "{shared_b}"), "", TOPIC_REFUSED),
        ("read incidents.B", (*READ, "{incidents_b}"), "", TOPIC_REFUSED),
        ("read every incident", (*READ, INCIDENTS), "", TOPIC_REFUSED),
        ("write frames.B", ("-P", "-t", "{frames_b}"), "forged\n", TOPIC_REFUSED),
        ("write grants", ("-P", "-t", GRANTS), "forged grant\n", TOPIC_REFUSED),
        ("write audit", ("-P", "-t", AUDIT), "forged record\n", TOPIC_REFUSED),
        ("read audit", (*READ, AUDIT), "", TOPIC_REFUSED),
        ("join the archiver's group", ("-C", "-c", "1", "-G", "vigie-archiver", "{frames_a}"), "",
         GROUP_REFUSED),
        ("join the policy's group", ("-C", "-c", "1", "-G", "vigie-policy", "{frames_a}"), "",
         GROUP_REFUSED),
    ],
)  # fmt: skip
def test_the_broker_refuses_operator_a_what_is_not_its_own(
    kcat_env: dict[str, str],
    kafka_bootstrap: str,
    operators: tuple[str, str],
    what: str,
    args: tuple[str, ...],
    stdin: str,
    refusal: str,
) -> None:
    a, b = operators
    names = {
        "frames_a": frames_topic(a),
        "frames_b": frames_topic(b),
        "shared_b": shared_topic(b),
        "incidents_b": incidents_topic(b),
    }
    argv = [arg.format(**names) for arg in args]
    out = _kcat(kcat_env, kafka_bootstrap, *argv, auth=[*SASL, *_credentials(a)], stdin=stdin)
    assert refusal in out, f"{what}: {out}"


def test_no_credentials_or_plaintext_gets_no_connection(
    kcat_env: dict[str, str], kafka_bootstrap: str, operators: tuple[str, str]
) -> None:
    a, _ = operators
    wrong = [*SASL, "-X", f"sasl.username={operator_principal(a)}", "-X", "sasl.password=guess"]
    out = _kcat(kcat_env, kafka_bootstrap, "-L", auth=wrong)
    assert "Authentication failed" in out, out
    out = _kcat(kcat_env, kafka_bootstrap, "-L", auth=["-X", "security.protocol=PLAINTEXT"])
    assert "Failed to acquire metadata" in out or "Broker transport failure" in out, out
    assert frames_topic(a) not in out

"""`vigie kafka <tool>`: the stack's address is given to each Kafka tool the way it takes it."""

from __future__ import annotations

import pytest

from infra.local.kafka import TOOLS, Bootstrap, with_bootstrap

B = "127.0.0.1:19092"


@pytest.mark.parametrize(
    "tool",
    sorted(name for name, tool in TOOLS.items() if tool.bootstrap is Bootstrap.OPTION),
)
def test_option_tools_get_bootstrap_server_first(tool: str) -> None:
    assert with_bootstrap(tool, ["--list"], B) == ["--bootstrap-server", B, "--list"]


def test_the_option_goes_before_a_subcommand() -> None:
    assert with_bootstrap("metadata-quorum", ["describe", "--status"], B) == [
        "--bootstrap-server",
        B,
        "describe",
        "--status",
    ]


def test_producer_perf_test_gets_producer_props() -> None:
    args = ["--topic", "T", "--num-records", "200", "--record-size", "1000", "--throughput", "-1"]
    assert with_bootstrap("producer-perf-test", args, B) == [
        "--producer-props",
        f"bootstrap.servers={B}",
        *args,
    ]


def test_producer_perf_test_joins_the_users_producer_props() -> None:
    # A second --producer-props would replace the first list: the address joins the user's.
    args = ["--topic", "T", "--producer-props", "acks=all", "linger.ms=5", "--throughput", "-1"]
    assert with_bootstrap("producer-perf-test", args, B) == [
        "--topic",
        "T",
        "--producer-props",
        f"bootstrap.servers={B}",
        "acks=all",
        "linger.ms=5",
        "--throughput",
        "-1",
    ]


def test_producer_perf_test_splits_the_equals_form_of_producer_props() -> None:
    # "--producer-props=acks=all" holds one value: a value after it would be unrecognized.
    assert with_bootstrap(
        "producer-perf-test", ["--producer-props=acks=all", "--topic", "T"], B
    ) == [
        "--producer-props",
        "acks=all",
        f"bootstrap.servers={B}",
        "--topic",
        "T",
    ]


def test_producer_perf_test_keeps_the_users_bootstrap_servers() -> None:
    args = ["--topic", "T", "--producer-props", "bootstrap.servers=elsewhere:9092"]
    assert with_bootstrap("producer-perf-test", args, B) == args


def test_cluster_tool_takes_the_option_after_its_subcommand() -> None:
    assert with_bootstrap("cluster", ["cluster-id"], B) == ["cluster-id", "--bootstrap-server", B]
    assert with_bootstrap("cluster", ["list-endpoints", "--include-fenced-brokers"], B) == [
        "list-endpoints",
        "--bootstrap-server",
        B,
        "--include-fenced-brokers",
    ]


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_cluster_tool_without_subcommand_is_left_alone(args: list[str]) -> None:
    assert with_bootstrap("cluster", args, B) == args


@pytest.mark.parametrize("given", [["-b", "x:1"], ["-C", "x:1"], ["--bootstrap-controller", "x:1"]])
def test_cluster_tool_keeps_the_users_address(given: list[str]) -> None:
    assert with_bootstrap("cluster", ["cluster-id", *given], B) == ["cluster-id", *given]


def test_storage_never_gets_an_address() -> None:
    args = ["format", "--cluster-id=x", "--config=/p"]
    assert with_bootstrap("storage", args, B) == args


@pytest.mark.parametrize(
    "given",
    [
        ["--bootstrap-server", "other:9092"],
        ["--bootstrap-server=other:9092"],
        ["--bootstrap-controller", "127.0.0.1:19093"],
        ["--bootstrap", "other:9092"],  # an abbreviation the option parsers accept
    ],
)
@pytest.mark.parametrize("tool", ["topics", "metadata-quorum", "configs", "acls", "features"])
def test_a_users_address_is_kept(tool: str, given: list[str]) -> None:
    assert with_bootstrap(tool, [*given, "--list"], B) == [*given, "--list"]


@pytest.mark.parametrize("tool", ["log-dirs", "reassign-partitions"])
def test_broker_list_of_broker_ids_is_not_an_address(tool: str) -> None:
    # In these tools --broker-list is a list of broker ids ("0,1,2"), not a bootstrap.
    assert with_bootstrap(tool, ["--broker-list", "1"], B) == [
        "--bootstrap-server",
        B,
        "--broker-list",
        "1",
    ]


def test_every_tool_has_a_bootstrap_style() -> None:
    assert all(isinstance(tool.bootstrap, Bootstrap) for tool in TOOLS.values())
    assert {"topics", "consumer-groups", "console-consumer", "configs", "acls"} <= set(TOOLS)
    assert {"producer-perf-test", "consumer-perf-test", "log-dirs", "delete-records"} <= set(TOOLS)

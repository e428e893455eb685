"""Repeated Kafka client errors are aggregated: one line per kind per interval, with a count."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from runtime.logs import RepeatSuppressor, install_repeat_suppressor, report_pending


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    name: str = "aiokafka",
    msg: str = "Unable connect to node with id %s: %s",
    args: tuple[object, ...] = (1, "[Errno 111] Connect call failed"),
    level: int = logging.ERROR,
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def suppressor(clock: FakeClock) -> RepeatSuppressor:
    return RepeatSuppressor(interval_s=10.0, clock=clock)


def test_first_record_passes_repeats_within_the_interval_do_not(
    suppressor: RepeatSuppressor, clock: FakeClock
) -> None:
    assert suppressor.filter(record())
    for _ in range(500):
        clock.now += 0.01
        assert not suppressor.filter(record())


def test_the_first_record_after_the_interval_says_how_many_were_suppressed(
    suppressor: RepeatSuppressor, clock: FakeClock
) -> None:
    suppressor.filter(record())
    for _ in range(39):  # over 9.75 s
        clock.now += 0.25
        assert not suppressor.filter(record(args=(1, "refused")))
    clock.now += 0.5  # 10.25 s after the first
    later = record(args=(1, "refused"))
    assert suppressor.filter(later)
    assert later.getMessage() == (
        "Unable connect to node with id 1: refused [39 more like this suppressed in the last 10 s]"
    )
    # A new interval starts: the next repeat is suppressed again.
    clock.now += 1
    assert not suppressor.filter(record())


def test_a_kind_that_comes_back_after_a_quiet_interval_has_no_count(
    suppressor: RepeatSuppressor, clock: FakeClock
) -> None:
    suppressor.filter(record())
    clock.now += 60
    again = record()
    assert suppressor.filter(again)
    assert "suppressed" not in again.getMessage()


def test_kinds_are_logger_level_and_template_not_arguments(
    suppressor: RepeatSuppressor,
) -> None:
    assert suppressor.filter(record(args=(1, "refused")))
    assert not suppressor.filter(record(args=(2, "timed out")))  # same kind
    assert suppressor.filter(record(msg="Unable to update metadata from %s", args=([1],)))
    assert suppressor.filter(record(level=logging.WARNING))
    assert suppressor.filter(record(name="aiokafka.producer.sender"))  # a child: its own kinds
    assert not suppressor.filter(record(name="aiokafka.producer.sender"))


def test_vigie_own_loggers_are_never_suppressed(suppressor: RepeatSuppressor) -> None:
    for _ in range(100):
        assert suppressor.filter(record(name="producers.camera", msg="camera %s: %s"))
        assert suppressor.filter(record(name="vigie.cli", msg="x", args=()))
        assert suppressor.filter(record(name="aiokafkaesque", msg="x", args=()))


def test_librdkafka_kinds_include_facility_and_client(suppressor: RepeatSuppressor) -> None:
    def rd(fac: str, client: str, text: str) -> logging.LogRecord:
        return record(name="librdkafka", msg="%s [%s] %s", args=(fac, client, text))

    assert suppressor.filter(rd("FAIL", "archiver#consumer-1", "Connect failed (after 0ms)"))
    assert not suppressor.filter(rd("FAIL", "archiver#consumer-1", "Connect failed (after 1ms)"))
    assert suppressor.filter(rd("FAIL", "archiver#consumer-2", "Connect failed (after 0ms)"))
    assert suppressor.filter(rd("SESSTMOUT", "archiver#consumer-1", "session timed out"))


def test_a_record_seen_by_two_handlers_is_counted_once(
    suppressor: RepeatSuppressor, clock: FakeClock
) -> None:
    first = record()
    assert suppressor.filter(first)
    assert suppressor.filter(first)  # the second handler: same answer
    repeat = record()
    assert not suppressor.filter(repeat)
    assert not suppressor.filter(repeat)
    clock.now += 11
    later = record()
    assert suppressor.filter(later)
    assert "[1 more like this" in later.getMessage()


def test_pending_reports_the_last_interval_once(
    suppressor: RepeatSuppressor, clock: FakeClock
) -> None:
    suppressor.filter(record())
    for node in range(2, 7):
        clock.now += 1
        suppressor.filter(record(args=(node, "refused")))
    reports = suppressor.pending()
    assert [r.getMessage() for r in reports] == [
        "Unable connect to node with id 6: refused [4 more like this suppressed in the last 5 s]"
    ]
    assert suppressor.filter(reports[0])  # already decided: handlers let it through
    assert suppressor.pending() == []


@pytest.fixture
def flood_logger() -> Iterator[tuple[logging.Logger, io.StringIO, RepeatSuppressor, FakeClock]]:
    """A private logger tree (never the root's) with one handler writing to a buffer."""
    clock = FakeClock()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    top = logging.getLogger("test-logs-flood")
    top.addHandler(handler)
    top.propagate = False
    suppressor = RepeatSuppressor({"test-logs-flood.aiokafka": 0}, interval_s=10.0, clock=clock)
    handler.addFilter(suppressor)
    try:
        yield logging.getLogger("test-logs-flood.aiokafka"), out, suppressor, clock
    finally:
        top.removeHandler(handler)
        top.propagate = True


def test_install_puts_one_suppressor_on_every_handler() -> None:
    first, second = logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())
    suppressor = install_repeat_suppressor([first])
    assert install_repeat_suppressor([first, second]) is suppressor  # the one already there
    assert first.filters == [suppressor]
    assert second.filters == [suppressor]


def test_a_minute_long_flood_gives_a_dozen_lines(
    flood_logger: tuple[logging.Logger, io.StringIO, RepeatSuppressor, FakeClock],
) -> None:
    """The measured flood: two alternating errors, ~4,000 lines a second, for 60 s."""
    log, out, suppressor, clock = flood_logger
    for _ in range(120_000):
        clock.now += 0.0005
        log.error("Unable connect to node with id %s: %s", 1, "[Errno 111] Connect call failed")
        log.error("Unable to update metadata from %s", [1])
    report_pending(suppressor)
    lines = out.getvalue().splitlines()
    assert 12 <= len(lines) <= 14, lines
    counted = sum(
        int(line.split("[")[-1].split(" more")[0]) for line in lines if "more like this" in line
    )
    assert counted + len(lines) == 240_000  # every record is either shown or counted


def test_configure_installs_it_for_the_process() -> None:
    """The real set-up in a process of its own: the root's handler aggregates the aiokafka
    flood, and what is still counted at exit is reported."""
    script = textwrap.dedent(
        """
        import logging
        from runtime import logs
        logs.configure()
        logs.configure()  # twice: still one filter, one exit report
        for i in range(5000):
            logging.getLogger("aiokafka").error("Unable connect to node with id %s: %s", 1, "x")
            logging.getLogger("producers.runner").info("line %d", i) if i < 3 else None
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = result.stderr.splitlines()
    assert len(lines) == 5, lines  # 3 own lines, the first error, the exit report
    assert sum("producers.runner: line" in line for line in lines) == 3
    assert lines[-1].endswith("[4998 more like this suppressed in the last 0 s]")

"""Logging set-up for every `vigie` process: one line per event, greppable by logger name.

Kafka client libraries repeat the same error for as long as a broker is unreachable (aiokafka
logs each failed connection attempt). `RepeatSuppressor` keeps that to one line per kind of
message per interval, which says how many were left out, so a long outage cannot fill a disk.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

# Loggers whose repeated lines are aggregated, each with how many of a record's leading args
# belong to its kind. The Kafka clients' (librdkafka's lines are forwarded as "%s [%s] %s" with
# facility, client and text: facility and client make the kind) and the camera adapters'
# per-frame delivery failures (one per frame while Kafka is down). Not Vigie's other lines.
REPEATING_LOGGERS: Mapping[str, int] = {
    "aiokafka": 0,
    "kafka": 0,
    "librdkafka": 2,
    "producers.camera.delivery": 0,
}
REPEAT_INTERVAL_S = 10.0
_VERDICT = "_vigie_repeat_verdict"  # set on a record once it has been decided


@dataclass
class _Kind:
    window_start: float
    suppressed: int = 0
    last: logging.LogRecord | None = None  # the last record suppressed


class RepeatSuppressor(logging.Filter):
    """Lets through the first record of each kind, then at most one per interval, which says
    how many of its kind were left out since the previous one.

    A kind is (logger, level, message template[, leading args]): ``Unable connect to node with
    id %s: %s`` is one kind whatever the node and error. Only records of the given loggers and
    their children are considered; others always pass. Pure: the clock is injected. A record
    seen twice (the filter on several handlers) gets the same answer both times.
    """

    def __init__(
        self,
        loggers: Mapping[str, int] = REPEATING_LOGGERS,
        interval_s: float = REPEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._loggers = dict(loggers)
        self.interval_s = interval_s
        self._clock = clock
        self._kinds: dict[Hashable, _Kind] = {}
        # librdkafka's lines come from its consumer's worker threads.
        self._lock = threading.Lock()
        self.reports_at_exit = False  # report_pending is registered to run at exit

    def _kind_args(self, name: str) -> int | None:
        """How many leading args make the kind, or None when the logger is not aggregated."""
        while True:
            if name in self._loggers:
                return self._loggers[name]
            if "." not in name:
                return None
            name = name.rsplit(".", 1)[0]

    def _key(self, record: logging.LogRecord, kind_args: int) -> Hashable:
        args = record.args if isinstance(record.args, tuple) else ()
        return (record.name, record.levelno, str(record.msg), *map(str, args[:kind_args]))

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _VERDICT, None)
        if decided is not None:
            return bool(decided)
        with self._lock:
            verdict = self._decide(record)
        setattr(record, _VERDICT, verdict)
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        kind_args = self._kind_args(record.name)
        if kind_args is None:
            return True
        key = self._key(record, kind_args)
        now = self._clock()
        kind = self._kinds.get(key)
        if kind is None:
            self._kinds[key] = _Kind(now)
            return True
        if now - kind.window_start < self.interval_s:
            kind.suppressed += 1
            kind.last = record
            return False
        if kind.suppressed:
            _note(record, kind.suppressed, now - kind.window_start)
        self._kinds[key] = _Kind(now)
        return True

    def pending(self) -> list[logging.LogRecord]:
        """The suppressed records not reported yet, one per kind (its last, saying how many
        more there were), and forgets them: for the end of the process, when no later record
        of the kind will carry the count."""
        now = self._clock()
        reports = []
        with self._lock:
            for kind in self._kinds.values():
                if kind.suppressed and kind.last is not None:
                    report = logging.makeLogRecord(kind.last.__dict__)
                    if kind.suppressed > 1:
                        _note(report, kind.suppressed - 1, now - kind.window_start)
                    setattr(report, _VERDICT, True)
                    reports.append(report)
                kind.suppressed, kind.last = 0, None
        return reports


def _note(record: logging.LogRecord, suppressed: int, seconds: float) -> None:
    # Appended to the template (the note holds no %): the record's args still apply.
    record.msg = (
        f"{record.msg} [{suppressed} more like this suppressed in the last {seconds:.0f} s]"
    )


def install_repeat_suppressor(handlers: Iterable[logging.Handler]) -> RepeatSuppressor:
    """One suppressor on each of these handlers (the one already there, if any); returns it."""
    handlers = list(handlers)
    installed = [f for h in handlers for f in h.filters if isinstance(f, RepeatSuppressor)]
    suppressor = installed[0] if installed else RepeatSuppressor()
    for handler in handlers:
        if not any(isinstance(f, RepeatSuppressor) for f in handler.filters):
            handler.addFilter(suppressor)
    return suppressor


def configure(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Client libraries are chatty at INFO (every rebalance and connection).
    for noisy in ("aiokafka", "kafka", "urllib3", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # On the handlers, not the loggers: a logger's filters do not see its children's records.
    suppressor = install_repeat_suppressor(logging.getLogger().handlers)
    if not suppressor.reports_at_exit:
        # Registered after logging's own shutdown hook, so it runs before it.
        atexit.register(report_pending, suppressor)
        suppressor.reports_at_exit = True


def report_pending(suppressor: RepeatSuppressor) -> None:
    """Log the counts a suppressor still holds (at exit: the last interval of a flood)."""
    for record in suppressor.pending():
        logging.getLogger(record.name).handle(record)

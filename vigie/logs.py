"""Logging set-up for every `vigie` process: one line per event, greppable by logger name."""

from __future__ import annotations

import logging


def configure(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Client libraries are chatty at INFO (every rebalance and connection).
    for noisy in ("aiokafka", "kafka", "faust", "mode", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

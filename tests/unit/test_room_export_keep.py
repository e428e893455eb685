"""Evidence packages leave the room's disk once their download time is over."""

from __future__ import annotations

import os
import time
from pathlib import Path

from consumers.room.api_export import KEEP, prune


def test_packages_older_than_the_keep_time_are_removed(tmp_path: Path) -> None:
    old, fresh = tmp_path / "inc-old", tmp_path / "inc-fresh"
    for package in (old, fresh):
        (package / "clips").mkdir(parents=True)
        (package / "receipt.json").write_text("{}")
    now = time.time()
    stale = now - KEEP.total_seconds() - 60
    os.utime(old, (stale, stale))
    prune(tmp_path, now)
    assert not old.exists()
    assert (fresh / "receipt.json").exists()
    prune(tmp_path / "none", now)  # no folder yet: nothing to do

"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys


def run_vigie(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The `vigie` command as a user runs it, against the test stack (the fixtures put its
    address in the environment)."""
    return subprocess.run(
        [sys.executable, "-m", "vigie", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=timeout,
        check=False,
    )

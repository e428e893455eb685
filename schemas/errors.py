"""The root of every error Vigie raises on purpose, and the exit codes of the `vigie` command.

Each stage raises its own subclass (a bad configuration, a stack that is not running, a topic
that does not exist, a tool that is missing...); ``vigie``'s ``main()`` catches the root and
prints ``vigie: <message>`` on one line, then exits with the error's ``exit_code``. A message
says what is wrong and, where it can, what to do about it. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

__all__ = ["EXIT_CHECK_FAILED", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "VigieError"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
"""A check ran and found a problem (a broken audit chain, topic drift with --strict, a service
that does not answer, an altered evidence package)."""
EXIT_USAGE = 2
"""The command could not run as asked: bad arguments or configuration, stack not running,
missing topic or tool."""
EXIT_REFUSED = 3
"""The server side refused the act (no grant, not the owner)."""


class VigieError(Exception):
    """An error a user or operator can act on; ``str()`` is the one-line message."""

    exit_code: int = EXIT_USAGE

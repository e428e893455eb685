"""The roles a room user may hold (re-exported by `consumers.room.auth`)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    VIEWER = "viewer"
    """Live cameras: the operator's own and those shared with it now."""
    OFFICER = "officer"
    """Opens, moves and closes incidents."""
    SUPERVISOR = "supervisor"
    """Evidence: legal hold and export."""
    AUDITOR = "auditor"
    """The audit report and its verification; never an image."""

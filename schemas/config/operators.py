"""The `operators` section: who runs cameras, and how long the law lets each keep images."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, ValidationInfo, field_validator

from schemas.config.base import ClosedModel, NonEmptyStr, OperatorId

__all__ = ["ArchiveProfile", "Operator", "OperatorKind", "legal_retention_ceiling_days"]


class OperatorKind(StrEnum):
    POLICE = "police"
    PUBLIC_TRANSPORT = "public_transport"
    ROADS = "roads"
    PORT = "port"
    OTHER = "other"


class ArchiveProfile(StrEnum):
    H264 = "h264"
    MJPEG = "mjpeg"


def legal_retention_ceiling_days(kind: OperatorKind, special_risk_site: bool) -> int:
    """Longest image retention the Belgian camera legislation allows, in days.

    One month in general, three months for a site with a particular security risk, twelve
    months for the police.
    """
    if kind is OperatorKind.POLICE:
        return 365
    if special_risk_site:
        return 90
    return 30


class Operator(ClosedModel):
    id: OperatorId
    name: NonEmptyStr
    kind: OperatorKind
    # Declared before retention_days so that its validator can read it.
    special_risk_site: StrictBool = False
    retention_days: Annotated[StrictInt, Field(ge=1)] = 30
    archive_profile: ArchiveProfile = ArchiveProfile.H264

    @field_validator("retention_days")
    @classmethod
    def _within_legal_ceiling(cls, days: int, info: ValidationInfo) -> int:
        kind = info.data.get("kind")
        if kind is None:  # kind itself is invalid and already reported
            return days
        special = bool(info.data.get("special_risk_site", False))
        ceiling = legal_retention_ceiling_days(kind, special)
        if days > ceiling:
            special_only = special and kind is not OperatorKind.POLICE
            who = "a special-risk site" if special_only else f"a {kind.value} operator"
            raise ValueError(f"{days} days exceeds the legal ceiling of {ceiling} days for {who}")
        return days

"""The `agreements` and `links` sections: what is shared when an incident is opened, and where.

Agreements say which of an owner's cameras another operator may see, for which incidents and
for how long; links say which cameras are next to each other along a road or line, which is where a
pursued suspect shows up next.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictInt, ValidationInfo, field_validator, model_validator

from schemas.config.base import CameraId, ClosedModel, NonEmptyStr, OperatorId

__all__ = ["CameraLink", "IncidentKind", "LinkKind", "SharingAgreement"]


class IncidentKind(StrEnum):
    PURSUIT = "pursuit"
    ACCIDENT = "accident"
    DEMONSTRATION = "demonstration"
    OTHER = "other"


class SharingAgreement(ClosedModel):
    """Standing agreement from which grants are derived when an incident is opened.

    An owner's camera is in scope when it is in one of `zones` (empty: any zone) and carries
    at least one of `tags` (empty: any tag).
    """

    id: CameraId
    owner: OperatorId
    grantee: OperatorId
    zones: list[NonEmptyStr] = []
    tags: list[NonEmptyStr] = []
    incident_kinds: Annotated[list[IncidentKind], Field(min_length=1)]
    max_duration_minutes: Annotated[StrictInt, Field(gt=0)]
    live: StrictBool
    archive: StrictBool
    legal_basis: NonEmptyStr

    @field_validator("grantee")
    @classmethod
    def _not_self(cls, grantee: str, info: ValidationInfo) -> str:
        if grantee == info.data.get("owner"):
            raise ValueError(
                f"owner and grantee are both {grantee!r}: an operator always sees its own"
                " cameras, an agreement shares them with another operator"
            )
        return grantee

    @model_validator(mode="after")
    def _grants_something(self) -> Self:
        if not (self.live or self.archive):
            raise ValueError("agreement grants neither live nor archive access")
        return self


class LinkKind(StrEnum):
    ROAD = "road"
    METRO = "metro"
    TRAM = "tram"
    BUS = "bus"
    RAIL = "rail"
    WALKWAY = "walkway"


class CameraLink(ClosedModel):
    """Two cameras adjacent along a road or transit line: where a suspect shows up next.

    A link is two-way (roads and lines run both ways), so each pair is listed once.
    """

    from_camera: CameraId
    to_camera: CameraId
    via: LinkKind

    @field_validator("to_camera")
    @classmethod
    def _not_a_loop(cls, to_camera: str, info: ValidationInfo) -> str:
        if to_camera == info.data.get("from_camera"):
            raise ValueError(f"camera {to_camera!r} is linked to itself")
        return to_camera

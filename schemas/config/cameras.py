"""The `profiles` and `cameras` sections: each camera and how its images are normalised.

A camera says who runs it, where it is, how to reach it (source URLs are checked in
`schemas.config.sources`) and which masks black out private areas; a profile sets the size,
rate, JPEG quality and motion detection of what it publishes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from pydantic import Field, StrictFloat, StrictInt, ValidationInfo, field_validator

from schemas.config.base import CameraId, ClosedModel, NonEmptyStr, OperatorId, UnitFloat
from schemas.config.errors import ConfigError, ConfigIssue
from schemas.config.sources import PLACEHOLDER, SourceKind, source_problem, userinfo_span

__all__ = ["Camera", "CameraProfile", "Position", "PrivacyMask", "StreamKind"]


class Position(ClosedModel):
    lat: Annotated[StrictFloat, Field(ge=-90.0, le=90.0)]
    lon: Annotated[StrictFloat, Field(ge=-180.0, le=180.0)]


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    pairs = zip(points, [*points[1:], points[0]], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2


class PrivacyMask(ClosedModel):
    """A region blacked out before frames leave the producer (e.g. private windows).

    Points are fractions of the frame width and height, so a mask survives a change of
    resolution or of stream (main/sub).
    """

    name: NonEmptyStr
    polygon: Annotated[list[tuple[UnitFloat, UnitFloat]], Field(min_length=3)]

    @field_validator("polygon")
    @classmethod
    def _not_degenerate(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if _polygon_area(points) == 0:
            raise ValueError("polygon has zero area, so it would mask nothing")
        return points


class CameraProfile(ClosedModel):
    """Normalised output of a camera: size, rate, JPEG quality and motion detection."""

    name: NonEmptyStr
    width: Annotated[StrictInt, Field(ge=16, le=7680)]
    height: Annotated[StrictInt, Field(ge=16, le=4320)]
    max_fps: Annotated[StrictFloat, Field(gt=0.0, le=60.0)]
    jpeg_quality: Annotated[StrictInt, Field(ge=1, le=100)] = 80
    motion_threshold: UnitFloat = 0.02  # fraction of pixels that changed
    motion_min_frames: Annotated[StrictInt, Field(ge=1)] = 3

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int, info: ValidationInfo) -> int:
        # H.264 with 4:2:0 chroma subsampling needs even dimensions.
        if value % 2:
            raise ValueError(f"{info.field_name} {value} must be even")
        return value


class StreamKind(StrEnum):
    MAIN = "main"
    SUB = "sub"


class Camera(ClosedModel):
    """One camera: who runs it, where it is, how to reach it and how to normalise its images."""

    id: CameraId
    operator: OperatorId
    name: NonEmptyStr
    position: Position
    zone: NonEmptyStr
    tags: list[NonEmptyStr] = []
    # Declared before source so that the source validator can check the scheme against it.
    source_kind: SourceKind
    source: NonEmptyStr
    stream: StreamKind = StreamKind.MAIN
    profile: NonEmptyStr
    privacy_masks: list[PrivacyMask] = []
    partition: Annotated[StrictInt, Field(ge=0, lt=10_000)] | None = None
    """Its partition of ``frames.<operator>`` (one camera per partition, so that a router reads
    only the cameras it shares). Unset: the next free one in file order (``schemas.placement``);
    pin it once an installation runs, so that reordering the file moves no camera."""

    @field_validator("source")
    @classmethod
    def _coherent_source(cls, source: str, info: ValidationInfo) -> str:
        kind = info.data.get("source_kind")
        if kind is None:  # source_kind is invalid and already reported
            return source
        problem = source_problem(source, kind)
        if problem is not None:
            raise ValueError(problem)
        return source

    def resolved_source(self, env: Mapping[str, str]) -> str:
        """The source with every ${NAME} replaced from `env` (credentials live there).

        Values substituted into `user:password@` are percent-encoded so that a password
        holding `@`, `:` or `/` cannot change where the URL points.
        """
        missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(self.source)} - env.keys())
        if missing:
            raise ConfigError(
                f"camera {self.id}",
                [
                    ConfigIssue("source", f"environment variable {name} is not set")
                    for name in missing
                ],
            )
        span = userinfo_span(self.source)

        def substitute(match: re.Match[str]) -> str:
            value = env[match.group(1)]
            in_userinfo = span is not None and span[0] <= match.start() < span[1]
            return quote(value, safe="") if in_userinfo else value

        return PLACEHOLDER.sub(substitute, self.source)

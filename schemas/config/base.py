"""What every section of the configuration is built from: the closed base model and id types."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat, StringConstraints

__all__ = ["CameraId", "ClosedModel", "NonEmptyStr", "OperatorId", "UnitFloat"]


_SLUG = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")


def _check_slug(value: str, max_length: int) -> str:
    # Ids end up in Kafka topic names, MinIO bucket names and object keys.
    if len(value) > max_length:
        raise ValueError(f"id {value!r} is longer than {max_length} characters")
    if not _SLUG.match(value):
        raise ValueError(
            f"id {value!r} must be lowercase letters, digits and hyphens, start with a letter"
            " and not end with a hyphen"
        )
    return value


RESERVED_OPERATOR_IDS = frozenset({"archiver", "auditor", "evidence", "retrieval"})
"""An operator's MinIO user is ``vigie-<operator>``: these would be a service's user."""


def _check_operator(value: str) -> str:
    if value in RESERVED_OPERATOR_IDS:
        raise ValueError(f"operator id {value!r} is reserved for a Vigie service")
    return _check_slug(value, max_length=40)


OperatorId = Annotated[str, AfterValidator(_check_operator)]
CameraId = Annotated[str, AfterValidator(partial(_check_slug, max_length=64))]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
UnitFloat = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]


class ClosedModel(BaseModel):
    # Unknown keys are typos until proven otherwise; validated objects never change. Inputs
    # stay out of error texts: a rejected source URL may hold a literal password.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

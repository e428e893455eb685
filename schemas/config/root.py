"""The whole configuration of a region, and the checks that span its sections.

Each section validates its own entries; only here can duplicate ids and references to
operators, profiles and cameras that do not exist be found.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Self

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, model_validator

from schemas.config.base import ClosedModel, NonEmptyStr
from schemas.config.cameras import Camera, CameraProfile
from schemas.config.errors import ConfigError, ConfigIssue, validation_issue
from schemas.config.operators import Operator
from schemas.config.sharing import CameraLink, SharingAgreement

__all__ = ["VigieConfig"]


# Raised from inside the root model's validator, before the file name is known; parse()
# re-raises it with the real source.
_NOT_YET_NAMED = "<config>"

# Keys that must be unique within their section: (section, key, what).
_UNIQUE_KEYS: tuple[tuple[str, str, str], ...] = (
    ("operators", "id", "operator id"),
    ("profiles", "name", "profile name"),
    ("cameras", "id", "camera id"),
    ("agreements", "id", "agreement id"),
)
# Keys that must name an existing entry: (section, key, target section, target key, what).
_REFERENCES: tuple[tuple[str, str, str, str, str], ...] = (
    ("cameras", "operator", "operators", "id", "operator"),
    ("cameras", "profile", "profiles", "name", "profile"),
    ("agreements", "owner", "operators", "id", "operator"),
    ("agreements", "grantee", "operators", "id", "operator"),
    ("links", "from_camera", "cameras", "id", "camera"),
    ("links", "to_camera", "cameras", "id", "camera"),
)


def _entries(data: Mapping[str, Any], section: str, key: str) -> list[tuple[int, str]]:
    """(index, value) of every entry of `section` whose `key` is a string; others are skipped.

    Works on raw data so that references are checked even when some field is invalid.
    """
    items = data.get(section)
    if not isinstance(items, list):
        return []
    return [
        (index, item[key].strip())
        for index, item in enumerate(items)
        if isinstance(item, Mapping) and isinstance(item.get(key), str)
    ]


def _duplicate_issues(data: Mapping[str, Any]) -> list[ConfigIssue]:
    issues = []
    for section, key, what in _UNIQUE_KEYS:
        first_at: dict[str, int] = {}
        for index, value in _entries(data, section, key):
            if value in first_at:
                where = f"{section}[{first_at[value]}]"
                message = f"duplicate {what} {value!r} (first defined at {where})"
                issues.append(ConfigIssue(f"{section}[{index}].{key}", message))
            first_at.setdefault(value, index)
    return issues


def _reference_issues(data: Mapping[str, Any]) -> list[ConfigIssue]:
    found: list[tuple[str, int, ConfigIssue]] = []
    for section, key, target, target_key, what in _REFERENCES:
        known = {value for _, value in _entries(data, target, target_key)}
        found += [
            (section, index, ConfigIssue(f"{section}[{index}].{key}", f"unknown {what} {value!r}"))
            for index, value in _entries(data, section, key)
            if value not in known
        ]
    # Report in file order, as a reader walks the file.
    sections = [section for section, *_ in _REFERENCES]
    found.sort(key=lambda item: (sections.index(item[0]), item[1]))
    return [issue for *_, issue in found]


def _partition_issues(cameras: list[Camera]) -> list[ConfigIssue]:
    """Two cameras of one operator pinned to the same frames partition."""
    issues = []
    first_at: dict[tuple[str, int], int] = {}
    for index, camera in enumerate(cameras):
        if camera.partition is None:
            continue
        slot = (camera.operator, camera.partition)
        if slot in first_at:
            message = (
                f"partition {camera.partition} of operator {camera.operator!r} is already"
                f" camera cameras[{first_at[slot]}]'s"
            )
            issues.append(ConfigIssue(f"cameras[{index}].partition", message))
        first_at.setdefault(slot, index)
    return issues


class VigieConfig(ClosedModel):
    """The whole configuration of a region.

    Validating it raises ConfigError (not pydantic's ValidationError) listing every problem:
    invalid fields, duplicate ids and dangling references together, so that one run of the
    validator is enough to fix a file.
    """

    region: NonEmptyStr
    operators: Annotated[list[Operator], Field(min_length=1)]
    profiles: list[CameraProfile]
    cameras: list[Camera]
    agreements: list[SharingAgreement] = []
    links: list[CameraLink] = []

    @model_validator(mode="wrap")
    @classmethod
    def _check_references(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        raw = isinstance(data, Mapping)
        references = [*_duplicate_issues(data), *_reference_issues(data)] if raw else []
        try:
            config = handler(data)
        except ValidationError as exc:
            fields = [validation_issue(error, VigieConfig) for error in exc.errors()]
            reported = {issue.key_path for issue in fields}
            references = [issue for issue in references if issue.key_path not in reported]
            # Not a ValueError, so pydantic lets it through with every key path intact.
            raise ConfigError(_NOT_YET_NAMED, [*fields, *references]) from None
        references += _partition_issues(config.cameras)
        if references:
            raise ConfigError(_NOT_YET_NAMED, references)
        return config

    # Indexes are built once; the model is frozen so they never go stale.
    @cached_property
    def _operators_by_id(self) -> dict[str, Operator]:
        return {o.id: o for o in self.operators}

    @cached_property
    def cameras_by_id(self) -> dict[str, Camera]:
        """Cameras by id (computed once; do not modify)."""
        return {c.id: c for c in self.cameras}

    @cached_property
    def _profiles_by_name(self) -> dict[str, CameraProfile]:
        return {p.name: p for p in self.profiles}

    def operator(self, operator_id: str) -> Operator:
        """The operator with this id; KeyError if there is none."""
        try:
            return self._operators_by_id[operator_id]
        except KeyError:
            raise KeyError(f"unknown operator {operator_id!r}") from None

    def camera(self, camera_id: str) -> Camera:
        """The camera with this id; KeyError if there is none."""
        try:
            return self.cameras_by_id[camera_id]
        except KeyError:
            raise KeyError(f"unknown camera {camera_id!r}") from None

    def profile(self, name: str) -> CameraProfile:
        """The camera profile with this name; KeyError if there is none."""
        try:
            return self._profiles_by_name[name]
        except KeyError:
            raise KeyError(f"unknown profile {name!r}") from None

    def cameras_of(self, operator_id: str) -> list[Camera]:
        """The cameras run by this operator, in file order; KeyError for an unknown operator."""
        self.operator(operator_id)
        return [c for c in self.cameras if c.operator == operator_id]

"""The Vigie configuration model: operators, cameras, profiles, sharing agreements, links.

Closed and validated at the door: every model forbids unknown keys, every cross-reference is
checked, and `load()` is the one place that reads a configuration file. Whatever goes wrong
becomes a `ConfigError` naming the file and the key path of each problem, so an operator can fix
the file without reading a traceback. Everything downstream works on validated, frozen objects.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from enum import StrEnum
from functools import cached_property, partial
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Self, get_args, get_origin
from urllib.parse import parse_qsl, quote

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

__all__ = [
    "ArchiveProfile",
    "Camera",
    "CameraLink",
    "CameraProfile",
    "ConfigError",
    "ConfigIssue",
    "IncidentKind",
    "LinkKind",
    "Operator",
    "OperatorKind",
    "Position",
    "PrivacyMask",
    "SharingAgreement",
    "SourceKind",
    "StreamKind",
    "VigieConfig",
    "legal_retention_ceiling_days",
    "load",
    "parse",
]


# --------------------------------------------------------------------------- errors


class ConfigIssue(NamedTuple):
    """One problem in a configuration: where (key path such as `cameras[3].operator`) and what."""

    key_path: str
    message: str


class ConfigError(Exception):
    """A configuration that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, path: str | Path, issues: Iterable[tuple[str, str]]) -> None:
        self.path = str(path)
        self.issues = [ConfigIssue(*issue) for issue in issues]
        super().__init__(self.path, self.issues)  # args stay picklable

    def __str__(self) -> str:
        count = len(self.issues)
        lines = [f"{self.path}: {count} problem{'' if count == 1 else 's'}"]
        lines += [
            f"  {issue.key_path}: {issue.message}" if issue.key_path else f"  {issue.message}"
            for issue in self.issues
        ]
        return "\n".join(lines)


# Raised from inside the root model's validator, before the file name is known; parse()
# re-raises it with the real source.
_NOT_YET_NAMED = "<config>"


# --------------------------------------------------------------------------- shared types

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


OperatorId = Annotated[str, AfterValidator(partial(_check_slug, max_length=40))]
CameraId = Annotated[str, AfterValidator(partial(_check_slug, max_length=64))]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
UnitFloat = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]


class _Closed(BaseModel):
    # Unknown keys are typos until proven otherwise; validated objects never change. Inputs
    # stay out of error texts: a rejected source URL may hold a literal password.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


# --------------------------------------------------------------------------- operators


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


class Operator(_Closed):
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


# --------------------------------------------------------------------------- cameras


class Position(_Closed):
    lat: Annotated[StrictFloat, Field(ge=-90.0, le=90.0)]
    lon: Annotated[StrictFloat, Field(ge=-180.0, le=180.0)]


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    pairs = zip(points, [*points[1:], points[0]], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2


class PrivacyMask(_Closed):
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


class CameraProfile(_Closed):
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


class SourceKind(StrEnum):
    RTSP = "rtsp"
    MJPEG = "mjpeg"
    SNAPSHOT = "snapshot"
    FILE = "file"
    SYNTHETIC = "synthetic"


class StreamKind(StrEnum):
    MAIN = "main"
    SUB = "sub"


# "" = no scheme, i.e. a plain file path.
_SCHEMES: Mapping[SourceKind, tuple[str, ...]] = {
    SourceKind.RTSP: ("rtsp", "rtsps"),
    SourceKind.MJPEG: ("http", "https"),
    SourceKind.SNAPSHOT: ("http", "https"),
    SourceKind.FILE: ("file", ""),
    SourceKind.SYNTHETIC: ("synthetic",),
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Query parameters through which snapshot/MJPEG cameras commonly take credentials.
_SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "pass", "token", "secret", "apikey"})


def _split_source(source: str) -> tuple[str, str, str]:
    """(scheme, authority, rest) of a source; scheme and authority are "" for a plain path."""
    match = _SCHEME.match(source)
    if match is None:
        return "", "", source
    after = source[match.end() :]
    authority = re.split(r"[/?#]", after, maxsplit=1)[0]
    return match.group(1).lower(), authority, after[len(authority) :]


def _userinfo_span(source: str) -> tuple[int, int] | None:
    """Where `user:password` sits in the source string, if it has one."""
    match = _SCHEME.match(source)
    if match is None:
        return None
    authority = _split_source(source)[1]
    at = authority.rfind("@")
    return None if at < 0 else (match.end(), match.end() + at)


def _literal_secret_param(rest: str) -> bool:
    query = rest.partition("?")[2].partition("#")[0]
    return any(
        name.lower() in _SECRET_PARAMS and not _PLACEHOLDER.fullmatch(value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    )


def _source_problem(source: str, kind: SourceKind) -> str | None:
    """Why `source` cannot be used for a camera of `kind`; None if it can.

    Never echoes the source itself: it may hold a literal password.
    """
    if "${" in _PLACEHOLDER.sub("", source):
        return "malformed placeholder: write environment variables as ${NAME}"
    scheme, authority, rest = _split_source(source)
    allowed = _SCHEMES[kind]
    if scheme not in allowed:
        expected = " or ".join(f"{s}://" if s else "a file path" for s in allowed)
        found = f"{scheme}://" if scheme else "no URL scheme"
        return f"source_kind {kind.value} expects {expected}, got {found}"
    userinfo, _, host = authority.rpartition("@")
    _, has_password, password = userinfo.partition(":")
    if (has_password and not _PLACEHOLDER.fullmatch(password)) or _literal_secret_param(rest):
        return (
            "literal password in the source URL: keep secrets out of the file and write"
            " ${SOME_ENV_VAR} instead"
        )
    if kind in (SourceKind.RTSP, SourceKind.MJPEG, SourceKind.SNAPSHOT) and not host:
        return f"{scheme}:// source has no host"
    if kind is SourceKind.SYNTHETIC and not host:
        return "synthetic source needs a pattern: synthetic://<pattern>"
    if kind is SourceKind.FILE and not (host or rest):
        return "file source has no path"
    return None


class Camera(_Closed):
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

    @field_validator("source")
    @classmethod
    def _coherent_source(cls, source: str, info: ValidationInfo) -> str:
        kind = info.data.get("source_kind")
        if kind is None:  # source_kind is invalid and already reported
            return source
        problem = _source_problem(source, kind)
        if problem is not None:
            raise ValueError(problem)
        return source

    def resolved_source(self, env: Mapping[str, str]) -> str:
        """The source with every ${NAME} replaced from `env` (credentials live there).

        Values substituted into `user:password@` are percent-encoded so that a password
        holding `@`, `:` or `/` cannot change where the URL points.
        """
        missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(self.source)} - env.keys())
        if missing:
            raise ConfigError(
                f"camera {self.id}",
                [
                    ConfigIssue("source", f"environment variable {name} is not set")
                    for name in missing
                ],
            )
        span = _userinfo_span(self.source)

        def substitute(match: re.Match[str]) -> str:
            value = env[match.group(1)]
            in_userinfo = span is not None and span[0] <= match.start() < span[1]
            return quote(value, safe="") if in_userinfo else value

        return _PLACEHOLDER.sub(substitute, self.source)


# --------------------------------------------------------------------------- sharing


class IncidentKind(StrEnum):
    PURSUIT = "pursuit"
    ACCIDENT = "accident"
    DEMONSTRATION = "demonstration"
    OTHER = "other"


class SharingAgreement(_Closed):
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


class CameraLink(_Closed):
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


# --------------------------------------------------------------------------- root


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


class VigieConfig(_Closed):
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
            fields = [_issue(error) for error in exc.errors()]
            reported = {issue.key_path for issue in fields}
            references = [issue for issue in references if issue.key_path not in reported]
            # Not a ValueError, so pydantic lets it through with every key path intact.
            raise ConfigError(_NOT_YET_NAMED, [*fields, *references]) from None
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


# --------------------------------------------------------------------------- reading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would silently overwrite."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # resolve `<<` merge keys first
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _key_path(loc: Sequence[object]) -> str:
    """`("cameras", 3, "operator")` -> `cameras[3].operator`."""
    path = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _model_at(loc: Sequence[object]) -> type[BaseModel] | None:
    """The model class that validates the value at `loc`, to list the keys it accepts."""
    current: Any = VigieConfig
    for part in loc:
        if isinstance(part, int):
            args = get_args(current)
            current = args[0] if args else None
        elif _is_model(current) and isinstance(part, str) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return None
    return current if _is_model(current) else None


def _is_model(value: object) -> bool:
    return inspect.isclass(value) and get_origin(value) is None and issubclass(value, BaseModel)


def _unknown_key_message(loc: Sequence[object]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (allowed: {', '.join(allowed)})"


def _echoable(loc: Sequence[object], value: object) -> bool:
    # Show short scalar inputs, but never a source: it may hold a literal password.
    is_scalar = isinstance(value, str | int | float) and len(repr(value)) <= 60
    return is_scalar and not (loc and loc[-1] == "source")


def _issue(error: ErrorDetails) -> ConfigIssue:
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        message = _unknown_key_message(loc)
    elif error["type"] == "missing":
        message = "missing required key"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] != "value_error" and _echoable(loc, error["input"]):
            message += f", got {error['input']!r}"
    return ConfigIssue(_key_path(loc), message)


def _yaml_issue(exc: yaml.YAMLError) -> ConfigIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return ConfigIssue("", f"YAML syntax error: {problem}")
    return ConfigIssue(
        "", f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    )


def parse(data: object, source: str = "<memory>") -> VigieConfig:
    """Validate already-loaded data (e.g. a dict in a test); `source` names it in errors."""
    if not isinstance(data, Mapping):
        found = "an empty document" if data is None else f"a {type(data).__name__}"
        raise ConfigError(
            source, [ConfigIssue("", f"the top level must be a mapping, got {found}")]
        )
    try:
        return VigieConfig.model_validate(dict(data))
    except ConfigError as exc:  # raised by the root validator, which does not know the source
        raise ConfigError(source, exc.issues) from None


def load(path: str | Path) -> VigieConfig:
    """Read and validate a YAML configuration file: the one place configuration is read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(path, [ConfigIssue("", "file not found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigIssue("", f"cannot read the file: {exc}")]) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ConfigError(path, [_yaml_issue(exc)]) from exc
    return parse(data, source=str(path))

"""ConfigError, and how pydantic's validation errors become lines naming a key path.

Knows no configuration model: the root model whose errors are rendered is passed in, so that
every section module can raise ConfigError without an import cycle.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from schemas.errors import VigieError

__all__ = ["ConfigError", "ConfigIssue", "validation_issue"]


class ConfigIssue(NamedTuple):
    """One problem in a configuration: where (key path such as `cameras[3].operator`) and what."""

    key_path: str
    message: str


class ConfigError(VigieError):
    """A configuration that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, path: str | Path, issues: Iterable[tuple[str, str]]) -> None:
        self.path = str(path)
        self.issues = [ConfigIssue(*issue) for issue in issues]
        super().__init__(self.path, self.issues)  # args stay picklable

    def __str__(self) -> str:
        count = len(self.issues)
        if count == 1 and not self.issues[0].key_path:  # about the file itself: one line
            return f"{self.path}: {self.issues[0].message}"
        lines = [f"{self.path}: {count} problem{'' if count == 1 else 's'}"]
        lines += [
            f"  {issue.key_path}: {issue.message}" if issue.key_path else f"  {issue.message}"
            for issue in self.issues
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------- pydantic errors


def _key_path(loc: Sequence[object]) -> str:
    """`("cameras", 3, "operator")` -> `cameras[3].operator`."""
    path = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _model_at(root: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The model class that validates the value at `loc`, to list the keys it accepts."""
    current: Any = root
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


def _unknown_key_message(root: type[BaseModel], loc: Sequence[object]) -> str:
    model = _model_at(root, loc[:-1])
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


def validation_issue(error: ErrorDetails, root: type[BaseModel]) -> ConfigIssue:
    """One pydantic error of validating `root`, as a key path and a message for a person."""
    loc = error["loc"]
    if error["type"] == "extra_forbidden":
        message = _unknown_key_message(root, loc)
    elif error["type"] == "missing":
        message = "missing required key"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] != "value_error" and _echoable(loc, error["input"]):
            message += f", got {error['input']!r}"
    return ConfigIssue(_key_path(loc), message)

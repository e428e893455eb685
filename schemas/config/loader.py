"""Reading a configuration: `load()` for a YAML file, `parse()` for data already in memory.

The YAML loader is strict (no duplicate keys, no arbitrary objects), and whatever goes wrong,
from a missing file to a syntax error, comes out as a ConfigError.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from schemas.config.errors import ConfigError, ConfigIssue
from schemas.config.root import VigieConfig

__all__ = ["load", "parse"]


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

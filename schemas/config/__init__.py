"""The Vigie configuration model: operators, cameras, profiles, sharing agreements, links.

Closed and validated at the door: every model forbids unknown keys, every cross-reference is
checked, and `load()` is the one place that reads a configuration file. Whatever goes wrong
becomes a `ConfigError` naming the file and the key path of each problem, so an operator can fix
the file without reading a traceback. Everything downstream works on validated, frozen objects.

One module per job, each importing only those above it:

- `errors`: ConfigError, and pydantic's errors rendered as key paths;
- `base`: the closed base model every section uses, and the id types;
- `sources`: camera source URLs (schemes, placeholders, no literal secrets);
- `operators`, `cameras`, `sharing`: the sections of the file;
- `root`: VigieConfig, the whole file, with the checks that span sections;
- `loader`: `load()` (strict YAML) and `parse()`.

Import from `schemas.config`, not from the modules: they are how the package is laid out.
"""

from __future__ import annotations

from schemas.config.cameras import Camera, CameraProfile, Position, PrivacyMask, StreamKind
from schemas.config.errors import ConfigError, ConfigIssue
from schemas.config.loader import load, parse
from schemas.config.operators import (
    ArchiveProfile,
    Operator,
    OperatorKind,
    legal_retention_ceiling_days,
)
from schemas.config.root import VigieConfig
from schemas.config.sharing import CameraLink, IncidentKind, LinkKind, SharingAgreement
from schemas.config.sources import SourceKind

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

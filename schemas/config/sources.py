"""Camera source strings: the URL scheme each kind of source takes, and no literal secrets.

Credentials live in the environment and are written as ${NAME} placeholders in the file;
`Camera.resolved_source()` fills them in when the camera is opened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from urllib.parse import parse_qsl

__all__ = ["PLACEHOLDER", "SourceKind", "source_problem", "userinfo_span"]


class SourceKind(StrEnum):
    RTSP = "rtsp"
    MJPEG = "mjpeg"
    SNAPSHOT = "snapshot"
    FILE = "file"
    SYNTHETIC = "synthetic"


# "" = no scheme, i.e. a plain file path.
_SCHEMES: Mapping[SourceKind, tuple[str, ...]] = {
    SourceKind.RTSP: ("rtsp", "rtsps"),
    SourceKind.MJPEG: ("http", "https"),
    SourceKind.SNAPSHOT: ("http", "https"),
    SourceKind.FILE: ("file", ""),
    SourceKind.SYNTHETIC: ("synthetic",),
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
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


def userinfo_span(source: str) -> tuple[int, int] | None:
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
        name.lower() in _SECRET_PARAMS and not PLACEHOLDER.fullmatch(value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    )


def source_problem(source: str, kind: SourceKind) -> str | None:
    """Why `source` cannot be used for a camera of `kind`; None if it can.

    Never echoes the source itself: it may hold a literal password.
    """
    if "${" in PLACEHOLDER.sub("", source):
        return "malformed placeholder: write environment variables as ${NAME}"
    scheme, authority, rest = _split_source(source)
    allowed = _SCHEMES[kind]
    if scheme not in allowed:
        expected = " or ".join(f"{s}://" if s else "a file path" for s in allowed)
        found = f"{scheme}://" if scheme else "no URL scheme"
        return f"source_kind {kind.value} expects {expected}, got {found}"
    userinfo, _, host = authority.rpartition("@")
    _, has_password, password = userinfo.partition(":")
    if (has_password and not PLACEHOLDER.fullmatch(password)) or _literal_secret_param(rest):
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

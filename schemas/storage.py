"""MinIO names of the contract: buckets and object keys are spelled here and nowhere else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

AUDIT_BUCKET = "vigie-audit"


def archive_bucket(operator: str) -> str:
    """The bucket holding one operator's archive (S3 bucket names: 3-63 chars, lowercase)."""
    return f"archive-{operator}"


# --------------------------------------------------------------------------- archive object keys
#
# <camera>/<yyyy>/<mm>/<dd>/<hh>/<window start, ISO 8601 basic, UTC>-p<part>.<ext>
#
# e.g. ``stib-c1/2026/11/26/12/20261126T120010Z-p000000004711.mp4`` and its manifest
# ``stib-c1/2026/11/26/12/20261126T120010Z-p000000004711.json``. The part is the Kafka offset
# of the first frame stored in the chunk (see consumers/archive/chunker.py for why), zero-padded
# so that a listing sorts by window, then part.

MANIFEST_EXT = "json"
"""Extension of the manifest object next to each chunk's video object."""
_PART_DIGITS = 12
_WINDOW_FORMAT = "%Y%m%dT%H%M%SZ"
_ARCHIVE_KEY = re.compile(
    r"^(?P<camera>[a-z][a-z0-9-]*[a-z0-9])/\d{4}/\d{2}/\d{2}/\d{2}/"
    r"(?P<window>\d{8}T\d{6}Z)-p(?P<part>\d+)\.(?P<ext>[a-z0-9]+)$"
)


@dataclass(frozen=True, slots=True)
class ArchiveKey:
    """The parts of an archive object key."""

    camera_id: str
    window_start: datetime
    part: int
    ext: str

    @property
    def is_manifest(self) -> bool:
        return self.ext == MANIFEST_EXT


def archive_hour_prefix(camera_id: str, moment: datetime) -> str:
    """The key prefix of one camera's chunks whose window starts in the hour of ``moment``."""
    utc = moment.astimezone(UTC)
    return f"{camera_id}/{utc:%Y/%m/%d/%H}/"


def archive_window_prefix(camera_id: str, window_start: datetime) -> str:
    """The key prefix of every part (video and manifest) of one camera's window."""
    utc = window_start.astimezone(UTC)
    return f"{archive_hour_prefix(camera_id, utc)}{utc.strftime(_WINDOW_FORMAT)}-p"


def archive_object_key(camera_id: str, window_start: datetime, part: int, ext: str) -> str:
    """The key of a chunk's video (``ext`` = container extension) or manifest object."""
    if part < 0:
        raise ValueError(f"part {part} must be non-negative")
    return f"{archive_window_prefix(camera_id, window_start)}{part:0{_PART_DIGITS}d}.{ext}"


def archive_manifest_key(camera_id: str, window_start: datetime, part: int) -> str:
    return archive_object_key(camera_id, window_start, part, MANIFEST_EXT)


def parse_archive_key(key: str) -> ArchiveKey | None:
    """The camera, window start, part and extension of an archive key; None if it is not one."""
    match = _ARCHIVE_KEY.match(key)
    if match is None:
        return None
    window = datetime.strptime(match["window"], _WINDOW_FORMAT).replace(tzinfo=UTC)
    return ArchiveKey(match["camera"], window, int(match["part"]), match["ext"])


def archive_hour_prefixes(camera_id: str, start: datetime, end: datetime) -> list[str]:
    """The hour prefixes of a camera's chunks whose window starts in [start, end)."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < end:
        prefixes.append(archive_hour_prefix(camera_id, hour))
        hour += timedelta(hours=1)
    return prefixes


_SAFE_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")


def is_key_safe_id(camera_id: str) -> bool:
    """Whether a camera id can be used as the first segment of an object key as it is (the
    configuration's id rule: lowercase letters, digits and hyphens)."""
    return _SAFE_ID.match(camera_id) is not None

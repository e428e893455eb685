"""MinIO names of the contract: buckets and object keys are spelled here and nowhere else."""

from __future__ import annotations

AUDIT_BUCKET = "vigie-audit"


def archive_bucket(operator: str) -> str:
    """The bucket holding one operator's archive (S3 bucket names: 3-63 chars, lowercase)."""
    return f"archive-{operator}"

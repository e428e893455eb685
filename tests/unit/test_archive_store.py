"""The archiver's MinIO client hashes each body once: a PUT carrying its SHA-256 (which MinIO
checks, see tests/integration/test_archive_store.py) gets no Content-MD5 from minio-py."""

from __future__ import annotations

import hashlib

from minio.credentials.credentials import Credentials

from consumers.archive.store import CHECKSUM_HEADER, archiver_client, checksummed
from runtime.connection import Connection

CONNECTION = Connection(
    kafka_bootstrap="127.0.0.1:1",
    minio_endpoint="127.0.0.1:1",
    minio_access_key="access",
    minio_secret_key="secret-key",
)
CREDS = Credentials("access", "secret-key")
BODY = b"x" * 1000


def test_a_put_with_its_sha256_is_not_hashed_again_for_a_content_md5() -> None:
    client = archiver_client(CONNECTION)
    checksum = checksummed(hashlib.sha256(BODY).digest())
    headers, _ = client._build_headers("127.0.0.1:1", dict(checksum), BODY, CREDS)
    assert "Content-MD5" not in headers
    assert headers[CHECKSUM_HEADER] == checksum[CHECKSUM_HEADER]
    assert headers["Content-Length"] == str(len(BODY))
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"


def test_a_put_without_its_sha256_keeps_minio_pys_content_md5() -> None:
    client = archiver_client(CONNECTION)
    headers, _ = client._build_headers("127.0.0.1:1", {}, BODY, CREDS)
    assert "Content-MD5" in headers
    assert headers["Content-Length"] == str(len(BODY))

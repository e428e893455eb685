"""The local stack's development CA and the server certificate Kafka (and MinIO) present.

Generated into ``<state>/tls`` on the first start, never committed: ``ca.crt`` is what clients
trust; keys are readable by their owner only. The server certificate names 127.0.0.1 and
localhost, and serves for client authentication too: Kafka's broker authenticates to its own
controller listener with it (mutual TLS), as the super user ``User:CN=vigie-kafka``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runtime.credentials import write_private

__all__ = ["SERVER_CN", "TlsFiles", "ensure_service_cert", "ensure_tls", "tls_files"]

SERVER_CN = "vigie-kafka"
"""Common name of the server certificate; Kafka's principal for it is ``User:CN=vigie-kafka``."""
VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    """PKCS#8, unencrypted, 0600."""
    server_pem: Path
    """Key then certificate chain in one file: Kafka's PEM keystore."""


def tls_files(tls_dir: Path) -> TlsFiles:
    return TlsFiles(
        ca_cert=tls_dir / "ca.crt",
        ca_key=tls_dir / "ca.key",
        server_cert=tls_dir / "server.crt",
        server_key=tls_dir / "server.key",
        server_pem=tls_dir / "server.pem",
    )


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_bytes(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_tls(tls_dir: Path) -> TlsFiles:
    """The CA and server certificate of this state folder, generated once."""
    files = tls_files(tls_dir)
    if all(p.exists() for p in (files.ca_cert, files.server_pem, files.server_key)):
        return files
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vigie development CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_CN)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(files.ca_key, _key_bytes(ca_key))
    write_private(files.server_key, _key_bytes(server_key))
    write_private(
        files.server_pem, _key_bytes(server_key) + _cert_bytes(server_cert) + _cert_bytes(ca_cert)
    )
    write_private(files.server_cert, _cert_bytes(server_cert))
    # Last: its presence says the set is complete. Public, but kept with the rest.
    write_private(files.ca_cert, _cert_bytes(ca_cert))
    return files


def ensure_service_cert(tls_dir: Path, name: str) -> tuple[Path, Path]:
    """A server certificate of `name` (a web service such as the incident room) signed by the
    stack's CA, for localhost and 127.0.0.1, generated once: (certificate chain, key), PEM.

    Its own key, server authentication only: the service never holds Kafka's certificate, which
    is also the broker's client identity on the controller listener."""
    files = ensure_tls(tls_dir)
    cert_path, key_path = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    if cert_path.exists() and key_path.exists():
        try:  # still signed by this CA (a new CA is generated if the set was incomplete)
            x509.load_pem_x509_certificate(cert_path.read_bytes()).verify_directly_issued_by(
                ca_cert
            )
        except (ValueError, TypeError, InvalidSignature):
            pass
        else:
            return cert_path, key_path
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{files.ca_key} is not the EC key this module generates")
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=VALID_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(key_path, _key_bytes(key))
    write_private(cert_path, _cert_bytes(cert) + _cert_bytes(ca_cert))
    return cert_path, key_path

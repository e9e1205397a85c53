"""Test PKI for the fake CA: its own two-tier CA, and TLS certificates for mutual TLS."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca_adapters.local.profile import signing_usage

NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2045, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def key_identifier(self) -> x509.AuthorityKeyIdentifier:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())


def name(common_name: str, organization: str = "Fake GlobalSign nv-sa") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_authority(
    common_name: str, parent: Authority | None = None, crl_url: str | None = None
) -> Authority:
    """A CA certificate (self-signed when ``parent`` is None), valid 2020-2045."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.certificate.subject if parent else subject)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(120) | 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), True
        )
        .add_extension(signing_usage(certificates_and_crls=True), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if parent is not None:
        builder = builder.add_extension(parent.key_identifier(), False)
    if crl_url:
        builder = builder.add_extension(crl_points(crl_url), False)
    signer = parent.key if parent else key
    return Authority(builder.sign(signer, hashes.SHA256()), key)


def crl_points(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)]
    )


def make_tls(authority: Authority, common_name: str, server: bool) -> Authority:
    """A TLS server certificate for 127.0.0.1/localhost, or a client certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name, "certsvc tests"))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(secrets.randbits(120) | 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([usage]), False)
    )
    if server:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return Authority(builder.sign(authority.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for mutual TLS: the server's side and the client account's side."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def write_tls_files(directory: Path) -> TLSFiles:
    """A throwaway TLS CA, a server certificate and an account (client) certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    tls_ca = make_authority("Fake HVCA TLS CA")
    server = make_tls(tls_ca, "127.0.0.1", server=True)
    client = make_tls(tls_ca, "certsvc account", server=False)
    files = TLSFiles(
        directory / "tls-ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "account.pem",
        directory / "account.key",
    )
    files.ca.write_text(tls_ca.pem)
    for authority, cert_path, key_path in (
        (server, files.server_cert, files.server_key),
        (client, files.client_cert, files.client_key),
    ):
        cert_path.write_text(authority.pem)
        key_path.write_bytes(
            authority.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
    return files

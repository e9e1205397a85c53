"""A throwaway server identity for gateways under test (a self-signed localhost certificate)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_server_identity(directory: Path) -> tuple[Path, Path]:
    """Write server.pem, server.key and server-combined.pem (HAProxy) into ``directory``.

    TLS checks validity against the gateway's real clock, so this one uses the real time.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / "server.pem").write_bytes(cert_pem)
    (directory / "server.key").write_bytes(key_pem)
    (directory / "server-combined.pem").write_bytes(cert_pem + key_pem)
    return directory / "server.pem", directory / "server.key"

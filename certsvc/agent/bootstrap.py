"""The first files of a gateway directory, so nginx or HAProxy starts before any agent run.

``nginx -t`` and ``haproxy -c`` open every file their config names: the CA chain, a CRL
for every CA, the allowlist, the server certificate. Written here from what certsvc has
now, the gateway can start first and refuses every client (empty allowlist) until
``certsvc gateway-agent`` loads the real one. Feed files the agent already keeps are never
overwritten: its state says they are current, so it would not write them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certsvc.agent.layout import GatewayFiles, write_atomically
from certsvc.agent.targets import nginx_feed_conf
from certsvc.errors import InputError

SELF_SIGNED_DAYS = 30
WAITING_LABEL = "none: waiting for certsvc gateway-agent"


@dataclass(frozen=True)
class FirstFile:
    """One file of the gateway directory and what was done with it."""

    path: Path
    written: bool


@dataclass(frozen=True)
class FirstFiles:
    """What the gateway reads, as bytes: certsvc's chain and CRL bundle of today."""

    chain_pem: bytes
    crl_bundle_pem: bytes


def self_signed_server(name: str, now: datetime) -> tuple[bytes, bytes]:
    """A P-256 server certificate for a trial (browsers warn): PEM certificate and key."""
    key = ec.generate_private_key(ec.SECP256R1())
    host = name if name not in ("", "_") else "localhost"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def require_server_identity(cert: Path, key: Path | None) -> None:
    """The server certificate (and key) must exist before a config naming them is written."""
    for path, option in ((cert, "--server-cert"), (key, "--server-key")):
        if path is not None and not path.is_file():
            raise InputError(
                f"{option} {path} does not exist: give the gateway's server certificate "
                "(see README, 'The gateway's server certificate') or --server-cert-self-signed",
                option.lstrip("-"),
            )


def write_private(path: Path, data: bytes) -> None:
    """A key: atomically, readable by its owner alone."""
    write_atomically(path, data)
    path.chmod(0o600)


def write_if_missing(path: Path, data: bytes) -> FirstFile:
    """Feed files: written once; the agent owns them from then on."""
    if path.exists():
        return FirstFile(path, False)
    write_atomically(path, data)
    return FirstFile(path, True)


def feed_files(files: GatewayFiles, first: FirstFiles, kind: str) -> list[FirstFile]:
    """Chain, CRL bundle, an empty allowlist (refuses everyone); for nginx its feed label."""
    written = [
        write_if_missing(files.chain, first.chain_pem),
        write_if_missing(files.crl_bundle, first.crl_bundle_pem),
    ]
    if kind == "nginx":
        written.append(write_if_missing(files.nginx_map, b""))
        written.append(write_if_missing(files.nginx_feed, nginx_feed_conf(WAITING_LABEL)))
    else:
        written.append(write_if_missing(files.haproxy_acl, b""))
    return written

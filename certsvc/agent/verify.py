"""What the gateway agent checks before a gateway sees anything certsvc sent.

A bad file in front of a gateway locks every client out (a CRL past its nextUpdate or
with a thisUpdate in the future, a missing CRL for one CA of the chain) or lets the
wrong ones in (an allowlist from an older backup). So the agent refuses such a feed and
keeps the last good files, saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----\r?\n?", re.DOTALL)
_HEADER = re.compile(r"^# certsvc allowlist version (\d+) generated_at \S+$")
AllowlistKind = Literal["nginx-map", "haproxy"]
_LINES: dict[AllowlistKind, re.Pattern[str]] = {
    "nginx-map": re.compile(r"^([0-9a-f]{40}) 1;$"),  # $ssl_client_fingerprint: SHA-1
    "haproxy": re.compile(r"^([0-9a-f]{64})$"),  # ssl_c_der,sha2(256),hex,lower
}


class FeedRefused(Exception):
    """certsvc sent something the gateway must not load; ``reason`` says what."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedCRLs:
    """A CRL bundle that covers the whole chain, every CRL signed, current and not older."""

    pem: bytes
    numbers: dict[str, int]  # issuer (RFC 4514) -> CRL number
    next_update: datetime  # the earliest nextUpdate: when the gateway would lock up


@dataclass(frozen=True)
class VerifiedAllowlist:
    """An allowlist in the gateway's own format, as served, and the fingerprints it lists."""

    version: int
    body: bytes
    patterns: tuple[str, ...]


def verify_crl_bundle(
    pem: bytes, chain: list[x509.Certificate], now: datetime, held: dict[str, int]
) -> VerifiedCRLs:
    """Check a PEM bundle against the chain; ``held`` are the CRL numbers loaded now."""
    blocks = _PEM_CRL.findall(pem)
    if not blocks:
        raise FeedRefused("the CRL bundle holds no PEM CRL")
    crls = {}
    for block in blocks:
        try:
            crl = x509.load_pem_x509_crl(block)
        except ValueError as exc:
            raise FeedRefused(f"unreadable CRL in the bundle: {exc}") from exc
        crls[crl.issuer.rfc4514_string()] = crl
    numbers = {}
    for ca in chain:
        issuer = ca.subject.rfc4514_string()
        if issuer not in crls:
            raise FeedRefused(f"no CRL for {issuer}: the gateway would refuse every client")
        numbers[issuer] = _check_crl(crls[issuer], ca, issuer, now, held.get(issuer))
    next_update = min(_next_update(crls[issuer]) for issuer in numbers)
    return VerifiedCRLs(b"".join(_normalised(block) for block in blocks), numbers, next_update)


def _check_crl(
    crl: x509.CertificateRevocationList,
    ca: x509.Certificate,
    issuer: str,
    now: datetime,
    held_number: int | None,
) -> int:
    """Signature, freshness (nginx allows no skew) and a CRL number that never goes back."""
    if not crl.is_signature_valid(_verifying_key(ca)):
        raise FeedRefused(f"CRL of {issuer}: signature does not verify against the chain")
    if crl.last_update_utc > now:
        raise FeedRefused(
            f"CRL of {issuer}: thisUpdate {crl.last_update_utc.isoformat()} is in the future"
        )
    if _next_update(crl) <= now:
        raise FeedRefused(f"CRL of {issuer}: expired at {_next_update(crl).isoformat()}")
    number = _crl_number(crl, issuer)
    if held_number is not None and number < held_number:
        raise FeedRefused(f"CRL of {issuer}: number {number} is older than {held_number}")
    return number


def _verifying_key(ca: x509.Certificate) -> Any:
    key = ca.public_key()
    if not isinstance(
        key,
        rsa.RSAPublicKey
        | ec.EllipticCurvePublicKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        raise FeedRefused(f"CA {ca.subject.rfc4514_string()}: unsupported key type")
    return key


def _next_update(crl: x509.CertificateRevocationList) -> datetime:
    if crl.next_update_utc is None:
        raise FeedRefused(f"CRL of {crl.issuer.rfc4514_string()} has no nextUpdate")
    return crl.next_update_utc


def _crl_number(crl: x509.CertificateRevocationList, issuer: str) -> int:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound as exc:
        raise FeedRefused(f"CRL of {issuer} has no CRL number") from exc


def _normalised(block: bytes) -> bytes:
    return block.rstrip(b"\r\n") + b"\n"


def verify_allowlist(
    body: bytes, kind: AllowlistKind, held_version: int | None
) -> VerifiedAllowlist:
    """Check a text allowlist: its version header (never going back) and every line."""
    text = body.decode("utf-8", errors="replace")
    header, _, rest = text.partition("\n")
    found = _HEADER.match(header)
    if found is None:
        raise FeedRefused(f"the allowlist has no version header: {header[:80]!r}")
    version = int(found.group(1))
    if held_version is not None and version < held_version:
        raise FeedRefused(f"the allowlist went back from version {held_version} to {version}")
    line_format = _LINES[kind]
    patterns = []
    for line in rest.splitlines():
        matched = line_format.match(line)
        if matched is None:
            raise FeedRefused(f"malformed {kind} allowlist line: {line[:100]!r}")
        patterns.append(matched.group(1))
    return VerifiedAllowlist(version, body, tuple(patterns))

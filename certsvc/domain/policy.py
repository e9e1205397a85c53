"""Business and key rules: validity dates, accepted keys, CSRs and revocation reasons.

Validity follows the operator's rule: two years from issuance, shown as a calendar date
in the business time zone. notAfter is the last second of that date, so the TLS check
and the business rule agree, and the certificate stops letting anyone in at the midnight
after (``invalid_from``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from certsvc.config import KeyPolicySettings
from certsvc.errors import InputError

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
MAX_CSR_BYTES = 16 * 1024
RSA_EXPONENT = 65537
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384"}


@dataclass(frozen=True)
class Validity:
    """The validity of a certificate issued at ``issued_at``."""

    not_before: datetime
    not_after: datetime
    expiry_date: date
    invalid_from: datetime


def add_years(day: date, years: int) -> date:
    """The same calendar date ``years`` on; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def validity_for(issued_at: datetime, years: int, zone: ZoneInfo, backdate: timedelta) -> Validity:
    """Validity of a certificate issued at ``issued_at`` (aware), in business zone ``zone``.

    notBefore is backdated by ``backdate`` so a gateway whose clock is a little behind
    still accepts a certificate used right after issuance.
    """
    local_issue_day = issued_at.astimezone(zone).date()
    expiry = add_years(local_issue_day, years)
    not_after = datetime.combine(expiry, time(23, 59, 59), tzinfo=zone)
    not_before = issued_at.replace(microsecond=0) - backdate
    return Validity(not_before, not_after, expiry, invalid_from_for(expiry, zone))


def invalid_from_for(expiry: date, zone: ZoneInfo) -> datetime:
    """The midnight (business time) after the expiry date: from then on, no entry."""
    return datetime.combine(expiry + timedelta(days=1), time(0, 0), tzinfo=zone)


def expiry_date_of(not_after: datetime, zone: ZoneInfo) -> date:
    """The calendar date shown to users for a certificate ending at ``not_after``."""
    return not_after.astimezone(zone).date()


class RevocationReason(enum.Enum):
    """RFC 5280 reasons, spelled as the CA API and the CLI spell them."""

    unspecified = "unspecified"
    keyCompromise = "keyCompromise"
    affiliationChanged = "affiliationChanged"
    superseded = "superseded"
    cessationOfOperation = "cessationOfOperation"
    privilegeWithdrawn = "privilegeWithdrawn"

    @classmethod
    def parse(cls, text: str) -> RevocationReason:
        try:
            return cls(text)
        except ValueError:
            names = ", ".join(reason.value for reason in cls)
            raise InputError(f"unknown revocation reason {text!r} (one of {names})") from None

    @property
    def flag(self) -> x509.ReasonFlags:
        return x509.ReasonFlags(self.value)


def load_csr(pem: bytes | str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check its proof of possession (the self-signature)."""
    data = pem.encode() if isinstance(pem, str) else pem
    if len(data) > MAX_CSR_BYTES:
        raise InputError(f"CSR too large ({len(data)} bytes, at most {MAX_CSR_BYTES})", "csr")
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise InputError(f"malformed CSR: not a PEM certificate request ({exc})", "csr") from exc
    try:
        valid = csr.is_signature_valid
    except (UnsupportedAlgorithm, InvalidSignature, ValueError) as exc:
        raise InputError(f"CSR signature cannot be checked: {exc}", "csr") from exc
    if not valid:
        raise InputError("CSR signature is invalid (no proof of possession of the key)", "csr")
    return csr


def check_public_key(key: object, rules: KeyPolicySettings) -> PublicKey:
    """Accept RSA >= the minimum, the allowed EC curves and Ed25519; say why otherwise."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < rules.rsa_min_bits:
            raise InputError(
                f"weak key: RSA {key.key_size} bits (at least {rules.rsa_min_bits})", "csr"
            )
        exponent = key.public_numbers().e
        if exponent != RSA_EXPONENT:  # small exponents invite padding attacks
            raise InputError(
                f"key refused: RSA public exponent {exponent} (only {RSA_EXPONENT})", "csr"
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVE_NAMES.get(key.curve.name)
        if curve is None or curve not in rules.ec_curves:
            allowed = ", ".join(rules.ec_curves)
            raise InputError(f"key refused: curve {key.curve.name} (allowed: {allowed})", "csr")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        if not rules.allow_ed25519:
            raise InputError("key refused: Ed25519 is not allowed by policy", "csr")
        return key
    raise InputError(f"key refused: {type(key).__name__} keys are not accepted", "csr")

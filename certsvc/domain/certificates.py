"""Certificate states and the record of an issued certificate, as values.

States and choices are ``StrEnum`` members, so the database column and the JSON answers
keep their string spelling while the code compares members, never literals. The record
of what a CA issued is built once from the certificate itself and then travels frozen
through storage, audit, feed and views.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certsvc.domain.fingerprints import format_serial, sha1_hex, sha256_hex
from certsvc.domain.policy import RevocationReason, expiry_date_of, invalid_from_for


class CertState(enum.StrEnum):
    """``pending`` (CA call in flight) -> ``issued`` -> ``revoked`` | ``expired``."""

    PENDING = "pending"
    ISSUED = "issued"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RevokeOld(enum.StrEnum):
    """When a renewal or reissue revokes its predecessor (None: it stays valid)."""

    NOW = "now"
    ON_PICKUP = "on-pickup"


class ReissueReason(enum.StrEnum):
    """Why a certificate is reissued; each maps to the RFC 5280 reason of the revocation."""

    PC_CHANGE = "pc-change"
    USER_CHANGE = "user-change"

    @property
    def revocation(self) -> RevocationReason:
        """The reason the predecessor is revoked with."""
        if self is ReissueReason.USER_CHANGE:
            return RevocationReason.affiliationChanged
        return RevocationReason.superseded


@dataclass(frozen=True)
class IssuedRecord:
    """What a CA's certificate tells us, in the form certsvc stores and shows it."""

    serial: str
    ca_ref: str
    ca_name: str
    sha256: str
    sha1: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    expiry_date: date
    invalid_from: datetime
    pem: str

    @classmethod
    def of(
        cls, certificate: x509.Certificate, ca_ref: str, ca_name: str, zone: ZoneInfo
    ) -> IssuedRecord:
        """The record of ``certificate``; dates of the business rule in ``zone``."""
        expiry = expiry_date_of(certificate.not_valid_after_utc, zone)
        return cls(
            serial=format_serial(certificate.serial_number),
            ca_ref=ca_ref,
            ca_name=ca_name,
            sha256=sha256_hex(certificate),
            sha1=sha1_hex(certificate),
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            expiry_date=expiry,
            invalid_from=invalid_from_for(expiry, zone),
            pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        )


@dataclass(frozen=True)
class Issuance:
    """An issued record with what certsvc adds when recording it."""

    record: IssuedRecord
    issued_at: datetime
    awaiting_pickup: bool
    replaces_id: int | None

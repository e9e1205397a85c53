"""How a certificate is shown: one shape for the CLI's ``--json`` and the HTTP API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from certsvc.domain.certificates import CertState, Issuance
from certsvc.storage.certificates import SubscriberRef, local_text
from certsvc.storage.models import Certificate


@dataclass(frozen=True)
class CertificateView:
    """A certificate as users see it; times in the business zone, serials in gateway form."""

    serial: str | None
    sha256: str | None
    sha1: str | None
    state: CertState
    company_number: str
    user_id: str
    email: str
    subject: str | None
    issuer: str | None
    not_before: str | None
    not_after: str | None
    expiry_date: str | None
    invalid_from: str | None
    revoked_at: str | None
    revocation_reason: str | None
    replaces: str | None
    superseded_by: str | None
    awaiting_pickup: bool
    revoke_old_due_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def issued_view(
    issuance: Issuance, subscriber: SubscriberRef, replaces: str | None, zone: ZoneInfo
) -> CertificateView:
    """Render a certificate just recorded as issued (nothing of it is revoked or due yet)."""
    record = issuance.record
    return CertificateView(
        serial=record.serial,
        sha256=record.sha256,
        sha1=record.sha1,
        state=CertState.ISSUED,
        company_number=subscriber.company_number,
        user_id=subscriber.user_id,
        email=subscriber.email,
        subject=record.subject,
        issuer=record.issuer,
        not_before=local_text(record.not_before, zone),
        not_after=local_text(record.not_after, zone),
        expiry_date=local_text(record.expiry_date, zone),
        invalid_from=local_text(record.invalid_from, zone),
        revoked_at=None,
        revocation_reason=None,
        replaces=replaces,
        superseded_by=None,
        awaiting_pickup=issuance.awaiting_pickup,
        revoke_old_due_at=None,
    )


def certificate_view(row: Certificate, zone: ZoneInfo) -> CertificateView:
    """Render a stored certificate (with its subscriber and links loaded)."""
    return CertificateView(
        serial=row.serial,
        sha256=row.sha256,
        sha1=row.sha1,
        state=row.state,
        company_number=row.subscriber.tenant.company_number,
        user_id=row.subscriber.user_id,
        email=row.email,
        subject=row.subject,
        issuer=row.issuer,
        not_before=local_text(row.not_before, zone),
        not_after=local_text(row.not_after, zone),
        expiry_date=local_text(row.expiry_date, zone),
        invalid_from=local_text(row.invalid_from, zone),
        revoked_at=local_text(row.revoked_at, zone),
        revocation_reason=row.revocation_reason,
        replaces=row.replaces.serial if row.replaces else None,
        superseded_by=row.superseded_by.serial if row.superseded_by else None,
        awaiting_pickup=bool(row.awaiting_pickup),
        revoke_old_due_at=local_text(row.revoke_due_at, zone),
    )

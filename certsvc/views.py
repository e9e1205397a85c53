"""How a certificate is shown: one shape for the CLI's ``--json`` and the HTTP API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from certsvc.models import Certificate


@dataclass(frozen=True)
class CertificateView:
    """A certificate as users see it; times in the business zone, serials in gateway form."""

    serial: str | None
    sha256: str | None
    sha1: str | None
    state: str
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


def _local(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).isoformat() if instant is not None else None


def certificate_view(row: Certificate, zone: ZoneInfo) -> CertificateView:
    """Render a stored certificate (with its subscriber and links loaded)."""
    subscriber = row.subscriber
    return CertificateView(
        serial=row.serial,
        sha256=row.sha256,
        sha1=row.sha1,
        state=row.state,
        company_number=subscriber.tenant.company_number,
        user_id=subscriber.user_id,
        email=row.email,
        subject=row.subject,
        issuer=row.issuer,
        not_before=_local(row.not_before, zone),
        not_after=_local(row.not_after, zone),
        expiry_date=row.expiry_date.isoformat() if row.expiry_date else None,
        invalid_from=_local(row.invalid_from, zone),
        revoked_at=_local(row.revoked_at, zone),
        revocation_reason=row.revocation_reason,
        replaces=row.replaces.serial if row.replaces else None,
        superseded_by=row.superseded_by.serial if row.superseded_by else None,
        awaiting_pickup=row.awaiting_pickup,
        revoke_old_due_at=_local(row.revoke_due_at, zone),
    )

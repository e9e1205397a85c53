"""How a certificate is shown: one shape for the CLI's ``--json`` and the HTTP API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from certsvc.storage.certificates import local_text
from certsvc.storage.models import Certificate

_COLUMNS = (
    "serial",
    "sha256",
    "sha1",
    "state",
    "email",
    "subject",
    "issuer",
    "not_before",
    "not_after",
    "expiry_date",
    "invalid_from",
    "revoked_at",
    "revocation_reason",
    "awaiting_pickup",
    "revoke_due_at",
)


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


def view_of(
    values: Mapping[str, Any],
    company_number: str,
    user_id: str,
    links: tuple[str | None, str | None],
    zone: ZoneInfo,
) -> CertificateView:
    """Render certificate column values; ``links`` are the (replaces, superseded_by) serials."""
    return CertificateView(
        serial=values.get("serial"),
        sha256=values.get("sha256"),
        sha1=values.get("sha1"),
        state=values["state"],
        company_number=company_number,
        user_id=user_id,
        email=values["email"],
        subject=values.get("subject"),
        issuer=values.get("issuer"),
        not_before=local_text(values.get("not_before"), zone),
        not_after=local_text(values.get("not_after"), zone),
        expiry_date=local_text(values.get("expiry_date"), zone),
        invalid_from=local_text(values.get("invalid_from"), zone),
        revoked_at=local_text(values.get("revoked_at"), zone),
        revocation_reason=values.get("revocation_reason"),
        replaces=links[0],
        superseded_by=links[1],
        awaiting_pickup=bool(values.get("awaiting_pickup")),
        revoke_old_due_at=local_text(values.get("revoke_due_at"), zone),
    )


def certificate_view(row: Certificate, zone: ZoneInfo) -> CertificateView:
    """Render a stored certificate (with its subscriber and links loaded)."""
    values = {column: getattr(row, column) for column in _COLUMNS}
    links = (
        row.replaces.serial if row.replaces else None,
        row.superseded_by.serial if row.superseded_by else None,
    )
    return view_of(
        values, row.subscriber.tenant.company_number, row.subscriber.user_id, links, zone
    )

"""Certificate records on the issuance hot path, written with prepared Core statements.

Issuing is the operation certsvc does most; building ORM objects and a unit of work
for it cost more than the signature. These statements are compiled once and run with
parameters, so a local issuance is one short transaction of a handful of statements.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState, Issuance
from certsvc.domain.fingerprints import normalise_serial
from certsvc.errors import Conflict, NotFound
from certsvc.storage.models import Certificate, Subscriber, Tenant, table_of

_TABLE = table_of(Certificate)

_SUBSCRIBER = (
    select(
        Subscriber.id,
        Subscriber.user_id,
        Subscriber.email,
        Subscriber.display_name,
        Subscriber.locale,
        Subscriber.needs_certificate,
        Tenant.name,
        Tenant.company_number,
    )
    .join(Tenant)
    .where(Tenant.company_number == bindparam("company"), Subscriber.user_id == bindparam("user"))
)
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_MARK_ISSUED = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.state == CertState.PENDING)
    .values(
        {
            column: bindparam(column)
            for column in (
                "state",
                "serial",
                "ca_ref",
                "ca_name",
                "sha256",
                "sha1",
                "subject",
                "issuer",
                "not_before",
                "not_after",
                "expiry_date",
                "invalid_from",
                "pem",
                "issued_at",
                "awaiting_pickup",
                "replaces_id",
            )
        }
    )
)
_CLAIM = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("old_id"), _TABLE.c.superseded_by_id.is_(None))
    .values(superseded_by_id=bindparam("new_id"))
)


_KEY_HOLDER = (
    select(_TABLE.c.serial)
    .where(
        _TABLE.c.public_key_sha256 == bindparam("digest"),
        _TABLE.c.subscriber_id != bindparam("subscriber_id"),
        _TABLE.c.state == CertState.ISSUED,
        _TABLE.c.invalid_from > bindparam("now"),
        (_TABLE.c.revoke_due_at.is_(None)) | (_TABLE.c.revoke_due_at > bindparam("now")),
    )
    .limit(1)
)


def refuse_key_reuse(session: Session, digest: str, subscriber_id: int, now: datetime) -> None:
    """A public key belongs to one person: refuse it while another subscriber's valid
    certificate holds it (one PC, one key, one certificate; a copied key is no new PC).

    :raises Conflict: naming the certificate that holds the key.
    """
    params = {"digest": digest, "subscriber_id": subscriber_id, "now": now}
    held = session.connection().execute(_KEY_HOLDER, params).scalar()
    if held is not None:
        raise Conflict(
            f"this public key is already in certificate {held} of another subscriber: "
            "the subscriber must make a new key",
            held,
        )


@dataclass(frozen=True)
class RequestRow:
    """The columns every certificate row starts with, pending or issued."""

    subscriber_id: int
    request_key: str
    requested_at: datetime
    public_key_sha256: str
    adapter: str
    email: str


@dataclass(frozen=True)
class SubscriberRef:
    """What issuing needs to know of a subscriber and its tenant."""

    id: int
    user_id: str
    email: str
    display_name: str
    locale: str
    needs_certificate: bool
    tenant_name: str
    company_number: str


def subscriber_ref(session: Session, company_number: str, user_id: str) -> SubscriberRef:
    params = {"company": company_number, "user": user_id}
    found = session.connection().execute(_SUBSCRIBER, params).first()
    if found is None:
        raise NotFound("subscriber", f"{company_number}/{user_id}")
    return SubscriberRef(*found)


def subscriber_ref_of(subscriber: Subscriber) -> SubscriberRef:
    tenant = subscriber.tenant
    return SubscriberRef(
        subscriber.id,
        subscriber.user_id,
        subscriber.email,
        subscriber.display_name,
        subscriber.locale,
        subscriber.needs_certificate,
        tenant.name,
        tenant.company_number,
    )


def certificate_by_serial(session: Session, serial: str) -> Certificate:
    """The stored certificate with the serial a user typed (any case, colons, zeros).

    :raises InputError: not a serial. :raises NotFound: no such certificate.
    """
    stored = normalise_serial(serial)
    row = session.scalar(select(Certificate).where(Certificate.serial == stored))
    if row is None:
        raise NotFound("certificate", stored)
    return row


def require_issued(row: Certificate, action: str) -> None:
    """:raises Conflict: the certificate is pending, revoked or expired."""
    if row.state is not CertState.ISSUED:
        raise Conflict(f"certificate {row.serial} is {row.state}; cannot {action}", row.serial)


def insert_certificate(session: Session, values: dict[str, Any]) -> int:
    """Insert a certificate row from its column values; returns its id."""
    row_id: int = session.connection().execute(_INSERT, values).scalar_one()
    return row_id


def insert_request(session: Session, request: RequestRow, issuance: Issuance | None) -> int:
    """Insert a ``pending`` row before a remote CA call, or (local CA) the issued row."""
    values: dict[str, Any] = {
        **asdict(request),
        "state": CertState.PENDING,
        "awaiting_pickup": False,
        "crl_final": False,
    }
    if issuance is not None:
        values |= _issued_columns(issuance)
    return insert_certificate(session, values)


def claim_predecessor(session: Session, old_id: int, old_serial: str | None, new_id: int) -> None:
    """Link the old certificate to its successor at once, so two reissues cannot race."""
    claimed = session.connection().execute(_CLAIM, {"old_id": old_id, "new_id": new_id})
    if claimed.rowcount != 1:
        raise Conflict(f"certificate {old_serial} was already renewed or reissued", old_serial)


def _issued_columns(issuance: Issuance) -> dict[str, Any]:
    """The columns a CA's answer (and its recording) fills in."""
    return {
        **asdict(issuance.record),
        "state": CertState.ISSUED,
        "issued_at": issuance.issued_at,
        "awaiting_pickup": issuance.awaiting_pickup,
        "replaces_id": issuance.replaces_id,
    }


def mark_issued(session: Session, row_id: int, issuance: Issuance) -> None:
    """Turn a pending row into an issued certificate, once.

    A row already settled or dropped (by ``reconcile``, while this answer was slow) is a
    conflict that names the CA's certificate, so an operator can revoke it at the CA.
    """
    values = {"row_id": row_id, **_issued_columns(issuance)}
    changed = session.connection().execute(_MARK_ISSUED, values)
    if changed.rowcount != 1:
        raise Conflict(
            f"request {row_id} was settled or dropped while the CA issued "
            f"{issuance.record.ca_ref}; run 'certsvc reconcile' or revoke it at the CA"
        )


def local_text(instant: datetime | date | None, zone: ZoneInfo) -> str | None:
    """An instant in the business zone (ISO 8601 with offset), or a date as YYYY-MM-DD."""
    if instant is None:
        return None
    if isinstance(instant, datetime):
        return instant.astimezone(zone).isoformat()
    return instant.isoformat()

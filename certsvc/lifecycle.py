"""The certificate lifecycle: issue, renew, reissue, revoke, collect, expire.

Each operation orchestrates injected parts (sessions, CA adapter, clock, settings) and
does nothing else. A CA call is bracketed by the database: a ``pending`` row first (so a
lost answer can be reconciled instead of issued twice), the result after, in one
transaction together with its audit event, feed change and outbox mail. Any error
leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ca_adapters.base import CAAdapter, IssuedCertificate, IssueRequest, SubjectInfo
from certsvc import audit, delivery, identifiers
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.db import SessionFactory, transaction
from certsvc.directory import change_email, get_subscriber
from certsvc.errors import CAError, CAUnavailable, Conflict, InputError, NotFound
from certsvc.fingerprints import format_serial, normalise_serial, sha1_hex, sha256_hex
from certsvc.gateway.feed import record_change
from certsvc.models import Certificate, Subscriber
from certsvc.notify.outbox import enqueue
from certsvc.policy import (
    REISSUE_REASONS,
    PublicKey,
    RevocationReason,
    check_public_key,
    expiry_date_of,
    invalid_from_for,
    load_csr,
    validity_for,
)
from certsvc.queries import CertificateFilter, list_certificates
from certsvc.views import CertificateView, certificate_view

ISSUED, PENDING, REVOKED, EXPIRED = "issued", "pending", "revoked", "expired"
RECONCILE_SKEW = timedelta(minutes=10)
"""How far before our request the CA's clock may have stamped the certificate."""


@dataclass(frozen=True)
class CsrKey:
    """The subscriber's browser or PC made the key and sent this CSR (PEM)."""

    pem: bytes


@dataclass(frozen=True)
class ServerKey:
    """certsvc makes the key and delivers it as PKCS#12 under this password."""

    password: bytes


KeySource = CsrKey | ServerKey


@dataclass(frozen=True)
class Issued:
    """The outcome of an issuance; ``pkcs12`` only when certsvc made the key."""

    certificate: CertificateView
    certificate_pem: str
    pkcs12: bytes | None = None


@dataclass(frozen=True)
class Reconciled:
    """What ``reconcile`` did: serials found issued at the CA, requests dropped."""

    issued: list[str]
    dropped: int


@dataclass(frozen=True)
class _Succession:
    """How a new certificate relates to the one it replaces."""

    predecessor_id: int
    action: str  # renew | reissue
    revoke_old: str | None  # None (keep valid) | now | on-pickup
    reason: RevocationReason


@dataclass(frozen=True)
class _Prepared:
    public_key: PublicKey
    csr_pem: bytes | None
    server_key: delivery.ServerKey | None


class Lifecycle:
    """The one place where certificates change state."""

    def __init__(
        self, sessions: SessionFactory, adapter: CAAdapter, clock: Clock, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.adapter = adapter
        self.clock = clock
        self.settings = settings

    # -- issuance -----------------------------------------------------------------------

    def issue(
        self,
        company_number: str,
        user_id: str,
        key: KeySource,
        by: Actor,
        *,
        awaiting_pickup: bool = False,
    ) -> Issued:
        """Issue a first (or additional) certificate to a subscriber."""
        prepared = self._prepare_key(key)
        with transaction(self.sessions) as session:
            subscriber = get_subscriber(session, company_number, user_id)
            pending_id = self._open_request(session, subscriber, prepared)
        return self._complete(pending_id, prepared, key, by, None, awaiting_pickup)

    def renew(
        self, serial: str, key: KeySource, by: Actor, *, revoke_old: str | None = None
    ) -> Issued:
        """A new certificate for the same subscriber; the old one stays valid by default."""
        succession = _Succession(0, "renew", revoke_old, RevocationReason.superseded)
        return self._succeed(serial, key, by, succession, new_email=None)

    def reissue(
        self,
        serial: str,
        reason: str,
        key: KeySource,
        by: Actor,
        *,
        revoke_old: str | None = None,
        new_email: str | None = None,
    ) -> Issued:
        """Replace a certificate for a PC change or a user change; the old one is revoked."""
        if reason not in REISSUE_REASONS:
            raise InputError(f"reissue reason must be pc-change or user-change, not {reason!r}")
        if reason == "user-change" and not new_email:
            raise InputError("a user change needs the new user's e-mail address", "new_email")
        policy = revoke_old or self.settings.reissue.revoke_old
        succession = _Succession(0, "reissue", policy, REISSUE_REASONS[reason])
        return self._succeed(serial, key, by, succession, new_email)

    def _succeed(
        self,
        serial: str,
        key: KeySource,
        by: Actor,
        succession: _Succession,
        new_email: str | None,
    ) -> Issued:
        if succession.revoke_old not in (None, "now", "on-pickup"):
            raise InputError("revoke_old must be 'now' or 'on-pickup'", "revoke_old")
        if new_email is not None:
            identifiers.email(new_email, "new_email")
        prepared = self._prepare_key(key)
        with transaction(self.sessions) as session:
            old = _get_certificate(session, serial)
            if old.state not in (ISSUED, EXPIRED) or (
                succession.action == "reissue" and old.state != ISSUED
            ):
                raise Conflict(
                    f"certificate {old.serial} is {old.state}; cannot {succession.action}",
                    old.serial,
                )
            if new_email is not None:
                change_email(session, old.subscriber, new_email, by, self.clock.now())
            pending_id = self._open_request(session, old.subscriber, prepared)
            _claim_predecessor(session, old, pending_id)
            succession = replace(succession, predecessor_id=old.id)
        return self._complete(
            pending_id, prepared, key, by, succession, succession.revoke_old == "on-pickup"
        )

    def _prepare_key(self, key: KeySource) -> _Prepared:
        if isinstance(key, CsrKey):
            csr = load_csr(key.pem)
            public_key = check_public_key(csr.public_key(), self.settings.policy)
            return _Prepared(public_key, key.pem, None)
        delivery.check_pkcs12_password(key.password)
        server_key = delivery.generate_server_key(self.settings.certificates.server_key_algorithm)
        return _Prepared(server_key.public_key(), None, server_key)

    def _open_request(self, session: Session, subscriber: Subscriber, prepared: _Prepared) -> int:
        """Write the ``pending`` row that brackets the CA call."""
        if not subscriber.needs_certificate:
            raise Conflict(f"subscriber {subscriber.user_id} is registered without a certificate")
        row = Certificate(
            subscriber=subscriber,
            state=PENDING,
            request_key=str(uuid.uuid4()),
            requested_at=self.clock.now(),
            public_key_sha256=public_key_sha256(prepared.public_key),
            adapter=self.adapter.name,
            email=subscriber.email,
        )
        session.add(row)
        session.flush()
        return row.id

    def _complete(
        self,
        pending_id: int,
        prepared: _Prepared,
        key: KeySource,
        by: Actor,
        succession: _Succession | None,
        awaiting_pickup: bool,
    ) -> Issued:
        request = self._issue_request(pending_id, prepared)
        try:
            issued = self.adapter.issue(request)
        except CAUnavailable:
            raise  # the CA may have issued: the pending row stays for reconcile
        except CAError:
            self._abandon(pending_id)
            raise
        revoke_failed = self._revoke_predecessor_at_ca(succession)
        with transaction(self.sessions) as session:
            row = session.get_one(Certificate, pending_id)
            self._record_issued(session, row, issued, by, awaiting_pickup)
            if succession is not None:
                self._settle_predecessor(session, row, succession, by, revoke_failed)
            view = certificate_view(row, self.settings.zone)
            pem = row.pem or ""
        return Issued(view, pem, self._pkcs12(prepared, issued, key, view))

    def _issue_request(self, pending_id: int, prepared: _Prepared) -> IssueRequest:
        with self.sessions() as session:
            row = session.get_one(Certificate, pending_id)
            subscriber = row.subscriber
            subject = SubjectInfo(
                organization=subscriber.tenant.name,
                common_name=subscriber.user_id,
                email=row.email,
                country=self.settings.certificates.country,
            )
            validity = validity_for(
                row.requested_at,
                self.settings.certificates.validity_years,
                self.settings.zone,
                timedelta(seconds=self.settings.crl.backdate_seconds),
            )
            return IssueRequest(
                request_key=row.request_key,
                subject=subject,
                public_key=prepared.public_key,
                csr_pem=prepared.csr_pem,
                not_before=validity.not_before,
                not_after=validity.not_after,
            )

    def _abandon(self, pending_id: int) -> None:
        """The CA refused for sure: forget the request and release a claimed predecessor."""
        with transaction(self.sessions) as session:
            session.execute(
                update(Certificate)
                .where(Certificate.superseded_by_id == pending_id)
                .values(superseded_by_id=None)
            )
            session.delete(session.get_one(Certificate, pending_id))

    def _record_issued(
        self,
        session: Session,
        row: Certificate,
        issued: IssuedCertificate,
        by: Actor,
        awaiting_pickup: bool,
    ) -> None:
        now = self.clock.now()
        fill_issued(row, issued, self.settings)
        row.issued_at = now
        row.awaiting_pickup = awaiting_pickup
        record_change(session, "add", row, now)
        tenant = row.subscriber.tenant.company_number
        after = {"state": ISSUED, "expiry_date": str(row.expiry_date), "sha256": row.sha256}
        audit.record(
            session,
            by,
            "certificate.issue",
            now,
            company_number=tenant,
            serial=row.serial,
            after=after,
        )
        self._notify(session, "certificate.issued", row)

    def _settle_predecessor(
        self,
        session: Session,
        new: Certificate,
        succession: _Succession,
        by: Actor,
        revoke_failed: bool,
    ) -> None:
        old = session.get_one(Certificate, succession.predecessor_id)
        new.replaces_id = old.id
        now = self.clock.now()
        if succession.revoke_old == "now" and not revoke_failed:
            self._mark_revoked(session, old, succession.reason, by, now)
        elif succession.revoke_old is not None:
            grace = timedelta(days=self.settings.reissue.on_pickup_grace_days)
            old.revoke_due_at = now if revoke_failed else now + grace
            old.revoke_due_reason = succession.reason.value
        self._notify(session, f"certificate.{succession.action}ed", new)

    def _revoke_predecessor_at_ca(self, succession: _Succession | None) -> bool:
        """Revoke the old certificate at the CA before recording; True when that failed."""
        if succession is None or succession.revoke_old != "now":
            return False
        with self.sessions() as session:
            serial = session.get_one(Certificate, succession.predecessor_id).serial
        try:
            self.adapter.revoke(_serial_int(serial), succession.reason, self.clock.now())
        except CAError:
            return True  # recorded as due now: the nightly run retries the revocation
        return False

    def _pkcs12(
        self, prepared: _Prepared, issued: IssuedCertificate, key: KeySource, view: CertificateView
    ) -> bytes | None:
        if prepared.server_key is None or not isinstance(key, ServerKey):
            return None
        name = f"{view.user_id} ({view.company_number}) until {view.expiry_date}"
        chain = self.adapter.trust_chain()
        return delivery.make_pkcs12(
            prepared.server_key, issued.certificate, chain, key.password, name
        )

    # -- revocation and the rest of a life ----------------------------------------------

    def revoke(self, serial: str, reason: RevocationReason, by: Actor) -> CertificateView:
        """Revoke with an RFC 5280 reason; final, and a second revocation is an error."""
        with self.sessions() as session:
            row = _get_certificate(session, serial)
            _require_issued(row, "revoke")
        self.adapter.revoke(_serial_int(row.serial), reason, self.clock.now())
        with transaction(self.sessions) as session:
            row = _get_certificate(session, serial)
            _require_issued(row, "revoke")
            self._mark_revoked(session, row, reason, by, self.clock.now())
            return certificate_view(row, self.settings.zone)

    def _mark_revoked(
        self,
        session: Session,
        row: Certificate,
        reason: RevocationReason,
        by: Actor,
        now: datetime,
    ) -> None:
        changed = session.execute(
            update(Certificate)
            .where(Certificate.id == row.id, Certificate.state == ISSUED)
            .values(
                state=REVOKED,
                revoked_at=now,
                revocation_reason=reason.value,
                revoke_due_at=None,
                revoke_due_reason=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"certificate {row.serial} is already {row.state}", row.serial)
        session.refresh(row)
        record_change(session, "remove", row, now)
        tenant = row.subscriber.tenant.company_number
        audit.record(
            session,
            by,
            "certificate.revoke",
            now,
            company_number=tenant,
            serial=row.serial,
            before={"state": ISSUED},
            after={"state": REVOKED, "reason": reason.value},
        )
        self._notify(session, "certificate.revoked", row)

    def collect(self, serial: str, by: Actor) -> CertificateView:
        """Record the first pickup; it triggers the on-pickup revocation of the predecessor."""
        revoke_old: tuple[str, RevocationReason] | None = None
        with transaction(self.sessions) as session:
            row = _get_certificate(session, serial)
            _require_issued(row, "collect")
            if row.picked_up_at is None:
                row.picked_up_at = self.clock.now()
                row.awaiting_pickup = False
                old = row.replaces
                if old is not None and old.state == ISSUED and old.revoke_due_reason:
                    revoke_old = (old.serial or "", RevocationReason(old.revoke_due_reason))
                audit.record(
                    session,
                    by,
                    "certificate.collect",
                    self.clock.now(),
                    company_number=row.subscriber.tenant.company_number,
                    serial=row.serial,
                )
            view = certificate_view(row, self.settings.zone)
        if revoke_old is not None:
            self.revoke(revoke_old[0], revoke_old[1], by)
        return view

    def revoke_overdue(self, by: Actor) -> list[str]:
        """Revoke predecessors whose on-pickup grace has run out; returns their serials."""
        now = self.clock.now()
        with self.sessions() as session:
            due = session.execute(
                select(Certificate.serial, Certificate.revoke_due_reason).where(
                    Certificate.state == ISSUED, Certificate.revoke_due_at <= now
                )
            ).all()
        revoked: list[str] = []
        for serial, reason in due:
            if serial and reason:
                self.revoke(serial, RevocationReason(reason), by)
                revoked.append(serial)
        return revoked

    def expire_due(self, by: Actor) -> list[str]:
        """Mark ``expired`` every issued certificate past its ``invalid_from``."""
        now = self.clock.now()
        with transaction(self.sessions) as session:
            rows = session.scalars(
                select(Certificate).where(
                    Certificate.state == ISSUED, Certificate.invalid_from <= now
                )
            ).all()
            for row in rows:
                row.state = EXPIRED
                record_change(session, "remove", row, now)
                audit.record(
                    session,
                    by,
                    "certificate.expire",
                    now,
                    company_number=row.subscriber.tenant.company_number,
                    serial=row.serial,
                    before={"state": ISSUED},
                    after={"state": EXPIRED},
                )
            return [row.serial or "" for row in rows]

    def pem(self, serial: str) -> str:
        with self.sessions() as session:
            row = _get_certificate(session, serial)
            if row.pem is None:
                raise Conflict(f"certificate {row.serial} is {row.state}: no PEM yet", row.serial)
            return row.pem

    def reconcile(self, by: Actor, older_than: timedelta = timedelta(minutes=5)) -> Reconciled:
        """Settle ``pending`` rows whose CA answer was lost: never issue twice.

        Asks the CA what it issued for the request's public key since the request was
        written; a certificate found is recorded as issued, a request the CA never
        issued is dropped (and may then be retried). Rows younger than ``older_than``
        are left alone: their CA call may still be in flight.
        """
        now = self.clock.now()
        with self.sessions() as session:
            pending = session.execute(
                select(
                    Certificate.id, Certificate.public_key_sha256, Certificate.requested_at
                ).where(Certificate.state == PENDING, Certificate.requested_at <= now - older_than)
            ).all()
        settled: list[str] = []
        dropped = 0
        for pending_id, key_hash, requested_at in pending:
            found = self.adapter.find_issued(key_hash, requested_at - RECONCILE_SKEW, now)
            if found is None:
                self._abandon(pending_id)
                dropped += 1
                continue
            with transaction(self.sessions) as session:
                row = session.get_one(Certificate, pending_id)
                self._record_issued(session, row, found, by, awaiting_pickup=False)
                settled.append(row.serial or "")
        return Reconciled(settled, dropped)

    def show(self, serial: str) -> CertificateView:
        with self.sessions() as session:
            return certificate_view(_get_certificate(session, serial), self.settings.zone)

    def _notify(self, session: Session, kind: str, row: Certificate) -> None:
        """Queue the event mail to the subscriber in the change's own transaction."""
        subscriber = row.subscriber
        enqueue(
            session,
            channel="mail",
            kind=kind,
            dedupe_key=f"{kind}:{row.serial}:{row.email}",
            recipient=row.email,
            payload={
                "serial": row.serial,
                "company_number": subscriber.tenant.company_number,
                "company_name": subscriber.tenant.name,
                "user_id": subscriber.user_id,
                "display_name": subscriber.display_name,
                "locale": subscriber.locale,
                "expiry_date": str(row.expiry_date),
                "revocation_reason": row.revocation_reason,
            },
            at=self.clock.now(),
        )


def fill_issued(row: Certificate, issued: IssuedCertificate, settings: Settings) -> None:
    """Copy what the CA issued into a (pending) row and mark it issued."""
    certificate = issued.certificate
    expiry = expiry_date_of(certificate.not_valid_after_utc, settings.zone)
    row.state = ISSUED
    row.serial = format_serial(certificate.serial_number)
    row.ca_ref = issued.ca_ref
    row.ca_name = issued.ca_name
    row.sha256 = sha256_hex(certificate)
    row.sha1 = sha1_hex(certificate)
    row.subject = certificate.subject.rfc4514_string()
    row.issuer = certificate.issuer.rfc4514_string()
    row.not_before = certificate.not_valid_before_utc
    row.not_after = certificate.not_valid_after_utc
    row.expiry_date = expiry
    row.invalid_from = invalid_from_for(expiry, settings.zone)
    row.pem = certificate.public_bytes(serialization.Encoding.PEM).decode()


def public_key_sha256(public_key: PublicKey) -> str:
    """The fingerprint of a SubjectPublicKeyInfo: how reconcile recognises a request."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _get_certificate(session: Session, serial: str) -> Certificate:
    stored = normalise_serial(serial)
    row = session.scalar(select(Certificate).where(Certificate.serial == stored))
    if row is None:
        raise NotFound("certificate", stored)
    return row


def _require_issued(row: Certificate, action: str) -> None:
    if row.state != ISSUED:
        raise Conflict(f"certificate {row.serial} is {row.state}; cannot {action}", row.serial)


def _claim_predecessor(session: Session, old: Certificate, pending_id: int) -> None:
    """Link the old certificate to its successor at once, so two reissues cannot race."""
    claimed = session.execute(
        update(Certificate)
        .where(Certificate.id == old.id, Certificate.superseded_by_id.is_(None))
        .values(superseded_by_id=pending_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        successor = old.superseded_by.serial if old.superseded_by else "a pending request"
        raise Conflict(f"certificate {old.serial} was already replaced by {successor}", old.serial)


def _serial_int(serial: str | None) -> int:
    if serial is None:
        raise NotFound("certificate", "(pending)")
    return int(serial, 16)


def load_pem_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def list_views(lifecycle: Lifecycle, wanted: CertificateFilter) -> list[CertificateView]:
    """Certificates matching ``wanted``, as users see them."""
    with lifecycle.sessions() as session:
        rows = list_certificates(session, wanted)
        return [certificate_view(row, lifecycle.settings.zone) for row in rows]

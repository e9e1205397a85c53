"""The certificate lifecycle: issue, renew, reissue, revoke, collect, expire, reconcile.

Each operation orchestrates injected parts (sessions, CA adapter, clock, settings) and
does nothing else. A call to a remote CA is bracketed by the database: a ``pending`` row
first (so a lost answer can be reconciled instead of issued twice), the result after, in
one transaction together with its audit event, feed change and outbox mail. A local CA
signs inside that one transaction. Any error leaves nothing half-written.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ca_adapters.base import CAAdapter, IssuedCertificate, IssueRequest, SubjectInfo
from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import change_email
from certsvc.domain import identifiers
from certsvc.domain.fingerprints import public_key_sha256
from certsvc.domain.policy import (
    REISSUE_REASONS,
    RevocationReason,
    check_public_key,
    load_csr,
    validity_for,
)
from certsvc.errors import CAError, CAUnavailable, Conflict, InputError
from certsvc.lifecycle import effects as events
from certsvc.lifecycle import reconcile as upkeep
from certsvc.lifecycle import server_keys as delivery
from certsvc.lifecycle.orders import (
    CsrKey,
    Issued,
    KeySource,
    Locate,
    Order,
    Predecessor,
    Prepared,
    Reconciled,
    ServerKey,
)
from certsvc.lifecycle.views import CertificateView, certificate_view, view_of
from certsvc.storage import certificates as records
from certsvc.storage.certificates import EXPIRED, ISSUED, PENDING, SubscriberRef
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate
from certsvc.storage.queries import CertificateFilter, list_certificates

__all__ = ["CsrKey", "Issued", "KeySource", "Lifecycle", "Reconciled", "ServerKey", "list_views"]


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

        def locate(session: Session) -> Order:
            subscriber = records.subscriber_ref(session, company_number, user_id)
            return Order(subscriber, by, None, awaiting_pickup)

        return self._issue(locate, prepared)

    def renew(
        self, serial: str, key: KeySource, by: Actor, *, revoke_old: str | None = None
    ) -> Issued:
        """A new certificate for the same subscriber; the old one stays valid by default."""
        return self._succeed(serial, key, by, ("renew", revoke_old, "superseded"), None)

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
        plan = ("reissue", policy, REISSUE_REASONS[reason].value)
        return self._succeed(serial, key, by, plan, new_email)

    def _succeed(
        self,
        serial: str,
        key: KeySource,
        by: Actor,
        plan: tuple[str, str | None, str],
        new_email: str | None,
    ) -> Issued:
        action, revoke_old, reason = plan
        if revoke_old not in (None, "now", "on-pickup"):
            raise InputError("revoke_old must be 'now' or 'on-pickup'", "revoke_old")
        if new_email is not None:
            identifiers.email(new_email, "new_email")
        prepared = self._prepare_key(key)

        def locate(session: Session) -> Order:
            old = records.certificate_by_serial(session, serial)
            allowed = (ISSUED,) if action == "reissue" else (ISSUED, EXPIRED)
            if old.state not in allowed:
                raise Conflict(
                    f"certificate {old.serial} is {old.state}; cannot {action}", old.serial
                )
            if new_email is not None:
                change_email(session, old.subscriber, new_email, by, self.clock.now())
            previous = Predecessor(
                old.id, old.serial or "", action, revoke_old, RevocationReason(reason)
            )
            subscriber = records.subscriber_ref_of(old.subscriber)
            return Order(subscriber, by, previous, revoke_old == "on-pickup")

        return self._issue(locate, prepared)

    def _prepare_key(self, key: KeySource) -> Prepared:
        if isinstance(key, CsrKey):
            csr = load_csr(key.pem)
            public_key = check_public_key(csr.public_key(), self.settings.policy)
            return Prepared(public_key, key.pem, None, None)
        delivery.check_pkcs12_password(key.password)
        server_key = delivery.generate_server_key(self.settings.certificates.server_key_algorithm)
        csr_pem = delivery.csr_for(server_key) if self.adapter.remote else None  # PKCS#10 CAs
        return Prepared(server_key.public_key(), csr_pem, server_key, key.password)

    def _issue(self, locate: Locate, prepared: Prepared) -> Issued:
        """Sign inside one transaction with a CA that has no outside effects (local);
        bracket a remote CA's call with a ``pending`` row that ``reconcile`` can settle."""
        with transaction(self.sessions) as session:
            order = locate(session)
            request = self._request_for(order.subscriber, prepared)
            if not self.adapter.remote:
                issued = self.adapter.issue(request)
                return self._finish(session, None, issued, order, request, prepared)
            row_id = self._store_request(session, order, request, {"state": PENDING})
            upkeep.remember_intent(session, row_id, order, prepared.server_key is not None)
        issued = self._call_ca(request, row_id)
        revoke_failed = self._revoke_predecessor_at_ca(order.predecessor)
        if revoke_failed:
            order = replace(order, revoke_failed=True)
        with transaction(self.sessions) as session:
            return self._finish(session, row_id, issued, order, request, prepared)

    def _store_request(
        self, session: Session, order: Order, request: IssueRequest, values: dict[str, Any]
    ) -> int:
        """Insert the certificate row (pending, or issued for a local CA); claim the predecessor."""
        subscriber = order.subscriber
        if not subscriber.needs_certificate:
            raise Conflict(f"subscriber {subscriber.user_id} is registered without a certificate")
        row = {
            "subscriber_id": subscriber.id,
            "request_key": request.request_key,
            "requested_at": request.requested_at,
            "public_key_sha256": public_key_sha256(request.public_key),
            "adapter": self.adapter.name,
            "email": subscriber.email,
            "awaiting_pickup": False,
            "crl_final": False,
            **values,
        }
        row_id = records.insert_certificate(session, row)
        if order.predecessor is not None:
            old = order.predecessor
            records.claim_predecessor(session, old.id, old.serial, row_id)
        return row_id

    def _request_for(self, subscriber: SubscriberRef, prepared: Prepared) -> IssueRequest:
        now = self.clock.now()
        subject = SubjectInfo(
            organization=subscriber.tenant_name,
            common_name=subscriber.user_id,
            email=subscriber.email,
            country=self.settings.certificates.country,
        )
        validity = validity_for(
            now,
            self.settings.certificates.validity_years,
            self.settings.zone,
            timedelta(seconds=self.settings.crl.backdate_seconds),
        )
        return IssueRequest(
            str(uuid.uuid4()),
            subject,
            prepared.public_key,
            prepared.csr_pem,
            validity.not_before,
            validity.not_after,
            requested_at=now,
            key_proof=delivery.proof_signer(prepared.server_key),
        )

    def _call_ca(self, request: IssueRequest, pending_id: int) -> IssuedCertificate:
        try:
            return self.adapter.issue(request)
        except CAUnavailable:
            raise  # the CA may have issued: the pending row stays for reconcile
        except CAError:
            upkeep.abandon(self.sessions, pending_id)
            raise

    def _finish(
        self,
        session: Session,
        row_id: int | None,
        issued: IssuedCertificate,
        order: Order,
        request: IssueRequest | None,
        prepared: Prepared | None,
    ) -> Issued:
        """Record what the CA issued, settle the predecessor, package the result."""
        now = self.clock.now()
        values = records.issued_values(issued, self.settings.zone)
        old = order.predecessor
        values.update(
            issued_at=now,
            awaiting_pickup=order.awaiting_pickup,
            replaces_id=old.id if old else None,
        )
        if row_id is None and request is not None:
            self._store_request(session, order, request, values)
        elif row_id is not None:
            records.mark_issued(session, row_id, values, issued.ca_ref)
            upkeep.forget_intent(session, row_id)
        events.record_issued(session, values, order, now)
        if old is not None:
            self._settle_predecessor(session, old, order, now)
        values["email"] = order.subscriber.email
        links = (old.serial if old else None, None)
        subscriber = order.subscriber
        view = view_of(
            values, subscriber.company_number, subscriber.user_id, links, self.settings.zone
        )
        return Issued(view, values["pem"], self._pkcs12(prepared, issued, view))

    def _settle_predecessor(
        self, session: Session, old: Predecessor, order: Order, now: datetime
    ) -> None:
        if old.revoke_old is None:
            return
        row = session.get_one(Certificate, old.id)
        if row.state != ISSUED:
            return  # revoked or expired meanwhile (a lost answer settled late): nothing to do
        if old.revoke_old == "now" and not order.revoke_failed:
            events.mark_revoked(session, row, old.reason, order.by, now)
            return
        grace = timedelta(days=self.settings.reissue.on_pickup_grace_days)
        row.revoke_due_at = now if order.revoke_failed else now + grace
        row.revoke_due_reason = old.reason.value

    def _revoke_predecessor_at_ca(self, old: Predecessor | None) -> bool:
        """Revoke the old certificate at the CA before recording; True when that failed."""
        if old is None or old.revoke_old != "now":
            return False
        try:
            self.adapter.revoke(int(old.serial, 16), old.reason, self.clock.now())
        except CAError:
            return True  # recorded as due now: the nightly run retries the revocation
        return False

    def _pkcs12(
        self, prepared: Prepared | None, issued: IssuedCertificate, view: CertificateView
    ) -> bytes | None:
        if prepared is None or prepared.server_key is None or prepared.password is None:
            return None
        name = f"{view.user_id} ({view.company_number}) until {view.expiry_date}"
        chain = self.adapter.trust_chain()
        return delivery.make_pkcs12(
            prepared.server_key, issued.certificate, chain, prepared.password, name
        )

    # -- revocation and the rest of a life ----------------------------------------------

    def revoke(self, serial: str, reason: RevocationReason, by: Actor) -> CertificateView:
        """Revoke with an RFC 5280 reason; final, and a second revocation is an error."""
        with self.sessions() as session:
            row = records.certificate_by_serial(session, serial)
            records.require_issued(row, "revoke")
            stored_serial = row.serial or ""
        self.adapter.revoke(int(stored_serial, 16), reason, self.clock.now())
        with transaction(self.sessions) as session:
            row = records.certificate_by_serial(session, serial)
            records.require_issued(row, "revoke")
            events.mark_revoked(session, row, reason, by, self.clock.now())
            return certificate_view(row, self.settings.zone)

    def collect(self, serial: str, by: Actor) -> CertificateView:
        """Record the first pickup; it triggers the on-pickup revocation of the predecessor."""
        revoke_old: tuple[str, RevocationReason] | None = None
        with transaction(self.sessions) as session:
            row = records.certificate_by_serial(session, serial)
            records.require_issued(row, "collect")
            if row.picked_up_at is None:
                now = self.clock.now()
                row.picked_up_at, row.awaiting_pickup = now, False
                old = row.replaces
                if old is not None and old.state == ISSUED and old.revoke_due_reason:
                    revoke_old = (old.serial or "", RevocationReason(old.revoke_due_reason))
                tenant = row.subscriber.tenant.company_number
                audit.record(
                    session,
                    by,
                    "certificate.collect",
                    now,
                    company_number=tenant,
                    serial=row.serial,
                )
            view = certificate_view(row, self.settings.zone)
        if revoke_old is not None:
            self.revoke(revoke_old[0], revoke_old[1], by)
        return view

    def revoke_overdue(self, by: Actor) -> list[str]:
        """Revoke predecessors whose on-pickup grace has run out; returns their serials."""
        return upkeep.revoke_overdue(self, by)

    def expire_due(self, by: Actor) -> list[str]:
        """Mark ``expired`` every issued certificate past its ``invalid_from``."""
        return upkeep.expire_due(self, by)

    def reconcile(self, by: Actor, older_than: timedelta = upkeep.RECONCILE_AFTER) -> Reconciled:
        """Settle ``pending`` rows whose CA answer was lost (see ``upkeep.reconcile``)."""
        return upkeep.reconcile(self, by, older_than)

    def settle(self, row_id: int, issued: IssuedCertificate, order: Order) -> CertificateView:
        """Record a CA's answer for a pending row found by ``reconcile``.

        A certificate whose key was lost is revoked at the CA first (a failure leaves
        the row pending for the next run), then recorded issued and revoked at once.
        """
        lost = RevocationReason.cessationOfOperation
        if order.key_lost:
            self.adapter.revoke(issued.certificate.serial_number, lost, self.clock.now())
        revoke_failed = self._revoke_predecessor_at_ca(order.predecessor)
        order = replace(order, revoke_failed=revoke_failed)
        with transaction(self.sessions) as session:
            view = self._finish(session, row_id, issued, order, None, None).certificate
            if not order.key_lost:
                return view
            row = session.get_one(Certificate, row_id)
            events.mark_revoked(session, row, lost, order.by, self.clock.now(), mail=False)
            return certificate_view(row, self.settings.zone)

    # -- reading ------------------------------------------------------------------------

    def show(self, serial: str) -> CertificateView:
        with self.sessions() as session:
            row = records.certificate_by_serial(session, serial)
            return certificate_view(row, self.settings.zone)

    def pem(self, serial: str) -> str:
        with self.sessions() as session:
            row = records.certificate_by_serial(session, serial)
            if row.pem is None:
                raise Conflict(f"certificate {row.serial} is {row.state}: no PEM yet", row.serial)
            return row.pem


def list_views(lifecycle: Lifecycle, wanted: CertificateFilter) -> list[CertificateView]:
    """Certificates matching ``wanted``, as users see them."""
    with lifecycle.sessions() as session:
        rows = list_certificates(session, wanted)
        return [certificate_view(row, lifecycle.settings.zone) for row in rows]

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
from datetime import timedelta

from sqlalchemy.orm import Session

from ca_adapters.base import CAAdapter, IssuedCertificate, IssueRequest, SubjectInfo
from certsvc import audit
from certsvc.access.idempotency import REQUEST_KEY
from certsvc.audit import Actor
from certsvc.clock import Clock, local_text
from certsvc.config import Settings
from certsvc.directory import take_over
from certsvc.domain import identifiers
from certsvc.domain.certificates import CertState, ReissueReason, RevokeOld
from certsvc.domain.imports import IMPORTED
from certsvc.domain.policy import RevocationReason, check_public_key, load_csr, validity_for
from certsvc.errors import CAError, CANotSent, CAUnavailable, Conflict, InputError
from certsvc.gate import ChangeGate
from certsvc.lifecycle import expiry, reconcile, recording
from certsvc.lifecycle import server_keys as delivery
from certsvc.lifecycle.orders import (
    DIRECT,
    CsrKey,
    Handover,
    Issued,
    KeySource,
    Locate,
    Order,
    Predecessor,
    Prepared,
    Reconciled,
    ServerKey,
)
from certsvc.lifecycle.parts import Parts
from certsvc.lifecycle.pickup_links import open_order
from certsvc.lifecycle.views import CertificateView, certificate_view
from certsvc.storage import certificates as records
from certsvc.storage.certificates import SubscriberRef
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.queries import CertificateFilter, count_certificates, list_certificates

__all__ = [
    "DIRECT",
    "CsrKey",
    "Handover",
    "Issued",
    "KeySource",
    "Lifecycle",
    "Reconciled",
    "ServerKey",
    "count_views",
    "list_views",
]

Plan = tuple[str, RevokeOld | None, RevocationReason]
"""What a successor does: the action (renew | reissue), when it revokes the old one, why."""


class Lifecycle:
    """The one place where certificates change state."""

    def __init__(
        self, sessions: SessionFactory, adapter: CAAdapter, clock: Clock, settings: Settings
    ) -> None:
        self.sessions = sessions
        self.adapter = adapter
        self.clock = clock
        self.settings = settings
        self.parts = Parts(sessions, adapter, clock, settings)
        self.gate = ChangeGate.of(sessions, settings, clock)

    # -- issuance -----------------------------------------------------------------------

    def issue(
        self,
        company_number: str,
        user_id: str,
        key: KeySource,
        by: Actor,
        handover: Handover = DIRECT,
    ) -> Issued:
        """Issue a first (or additional) certificate to a subscriber."""
        self.gate.admit(by, "certificate.issue")
        prepared = self._prepare_key(key)

        def locate(session: Session) -> Order:
            subscriber = records.subscriber_ref(session, company_number, user_id)
            return Order(
                subscriber, by, None, handover.awaiting_pickup, mail_link=handover.mail_link
            )

        return self._issue(locate, prepared)

    def renew(
        self,
        serial: str,
        key: KeySource,
        by: Actor,
        *,
        revoke_old: RevokeOld | None = None,
        handover: Handover = DIRECT,
    ) -> Issued:
        """A new certificate for the same subscriber; the old one stays valid by default."""
        plan = ("renew", revoke_old, RevocationReason.superseded)
        return self._succeed(serial, key, (by, handover), plan, None)

    def reissue(
        self,
        serial: str,
        reason: ReissueReason,
        key: KeySource,
        by: Actor,
        *,
        revoke_old: RevokeOld | None = None,
        new_email: str | None = None,
        new_name: str | None = None,
        handover: Handover = DIRECT,
    ) -> Issued:
        """Replace a certificate for a PC change or a user change; the old one is revoked.

        A user change hands the user ID to a new person: ``new_email`` (required) and
        ``new_name`` (their display name, optional) are set in the same transaction.
        """
        if reason is ReissueReason.USER_CHANGE and not new_email:
            raise InputError("a user change needs the new user's e-mail address", "new_email")
        if new_name is not None and reason is not ReissueReason.USER_CHANGE:
            raise InputError(
                "a new name is only for a user change (--reason user-change)", "new_name"
            )
        if new_name is not None:
            identifiers.display_name(new_name, "new_name")
        policy = revoke_old or RevokeOld(self.settings.reissue.revoke_old)
        plan = ("reissue", policy, reason.revocation)
        holder = (new_email, new_name) if new_email is not None else None
        return self._succeed(serial, key, (by, handover), plan, holder)

    def _succeed(
        self,
        serial: str,
        key: KeySource,
        ordered: tuple[Actor, Handover],
        plan: Plan,
        new_holder: tuple[str, str | None] | None,
    ) -> Issued:
        (by, handover), (action, revoke_old, reason) = ordered, plan
        self.gate.admit(by, f"certificate.{action}")
        if new_holder is not None:
            identifiers.email(new_holder[0], "new_email")
        prepared = self._prepare_key(key)

        def locate(session: Session) -> Order:
            old = records.certificate_by_serial(session, serial)
            allowed = {CertState.ISSUED}
            if action == "renew":
                allowed.add(CertState.EXPIRED)
            if old.state not in allowed:
                raise Conflict(
                    f"certificate {old.serial} is {old.state}; cannot {action}", old.serial
                )
            self._refuse_open_order(session, old.serial or "")
            if new_holder is not None:
                take_over(session, old.subscriber, new_holder, by, self.clock.now())
            foreign = old.adapter == IMPORTED
            previous = Predecessor(old.id, old.serial or "", action, revoke_old, reason, foreign)
            subscriber = records.subscriber_ref_of(old.subscriber)
            awaiting = handover.awaiting_pickup or revoke_old is RevokeOld.ON_PICKUP
            return Order(subscriber, by, previous, awaiting, mail_link=handover.mail_link)

        return self._issue(locate, prepared)

    def _refuse_open_order(self, session: Session, serial: str) -> None:
        """One successor at a time: a renewal or reissue that waits for the subscriber's key
        (at pickup) is still open, so a direct one now would make a second successor.
        The pickup's own issuance passes: its link is claimed (used) before it issues."""
        order = open_order(session, serial, self.clock.now())
        if order is not None:
            raise Conflict(
                f"certificate {serial} already has a pending {order.action} waiting for the "
                "subscriber's key at pickup (until "
                f"{local_text(order.expires_at, self.settings.zone)}): let it be collected, "
                "or let its link expire, before another renewal or reissue",
                serial,
            )

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
        parts = self.parts
        with transaction(self.sessions) as session:
            order = locate(session)
            request = self._request_for(order.subscriber, prepared)
            if not self.adapter.remote:
                issued = self.adapter.issue(request)
                recorded = recording.finish(session, parts, None, issued, order, request)
                return recording.packaged(parts, prepared, issued, recorded)
            row_id = recording.store_request(session, parts, order, request, None)
            recording.remember_intent(session, row_id, order, prepared.server_key is not None)
        issued = self._call_ca(request, row_id)
        if recording.revoke_predecessor_at_ca(parts, order.predecessor, order.by):
            order = replace(order, revoke_failed=True)
        with transaction(self.sessions) as session:
            recorded = recording.finish(session, parts, row_id, issued, order, None)
            return recording.packaged(parts, prepared, issued, recorded)

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
            REQUEST_KEY.get() or str(uuid.uuid4()),  # a retried API request keeps its name
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
        except CANotSent:
            recording.abandon(self.sessions, pending_id)  # nothing reached the CA
            raise
        except CAUnavailable:
            raise  # the CA may have issued: the pending row stays for reconcile
        except CAError:
            recording.abandon(self.sessions, pending_id)
            raise

    # -- revocation and the rest of a life ----------------------------------------------

    def revoke(self, serial: str, reason: RevocationReason, by: Actor) -> CertificateView:
        """Revoke with an RFC 5280 reason; final, and a second revocation is an error."""
        self.gate.admit(by, "certificate.revoke")
        return recording.revoke(self.parts, serial, reason, by)

    def collect(self, serial: str, by: Actor) -> CertificateView:
        """Record the first pickup; it triggers the on-pickup revocation of the predecessor."""
        self.gate.admit(by, "certificate.collect")
        revoke_old: tuple[str, RevocationReason] | None = None
        with transaction(self.sessions) as session:
            row = records.certificate_by_serial(session, serial)
            records.require_issued(row, "collect")
            if row.picked_up_at is None:
                now = self.clock.now()
                row.picked_up_at, row.awaiting_pickup = now, False
                old = row.replaces
                if old is not None and old.state is CertState.ISSUED and old.revoke_due_reason:
                    revoke_old = (old.serial or "", old.revoke_due_reason)
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
            recording.revoke(self.parts, revoke_old[0], revoke_old[1], by)
        return view

    def revoke_overdue(self, by: Actor) -> list[str]:
        """Revoke predecessors whose on-pickup grace has run out (``expiry.revoke_overdue``)."""
        return expiry.revoke_overdue(self.parts, by)

    def expire_due(self, by: Actor) -> list[str]:
        """Mark ``expired`` every issued certificate past its ``invalid_from``."""
        return expiry.expire_due(self.sessions, self.clock, by)

    def reconcile(self, by: Actor, older_than: timedelta = reconcile.RECONCILE_AFTER) -> Reconciled:
        """Settle ``pending`` rows whose CA answer was lost (``reconcile.reconcile``)."""
        return reconcile.reconcile(self.parts, by, older_than)

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


def count_views(lifecycle: Lifecycle, wanted: CertificateFilter) -> int:
    """How many certificates match ``wanted`` in all (the total of a page)."""
    with lifecycle.sessions() as session:
        return count_certificates(session, wanted)

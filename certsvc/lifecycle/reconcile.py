"""Settling pending requests whose CA answer was lost, as each request intended.

Reconciling needs the intent of each pending request (what it replaces, whether to
revoke that one, whether it awaits pickup, whether certsvc made the key); that intent is
stored beside the pending row (``recording.remember_intent``) and deleted when the row
is settled. Functions of the parts they use; ``Lifecycle`` and the CLI call them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ca_adapters.base import IssuedCertificate
from certsvc.audit import Actor
from certsvc.domain.certificates import CertState
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CertsvcError
from certsvc.lifecycle import effects, recording, revocations
from certsvc.lifecycle.orders import Order, Predecessor, Reconciled, Unsettled
from certsvc.lifecycle.parts import Parts
from certsvc.lifecycle.views import CertificateView, certificate_view
from certsvc.logging import get_logger
from certsvc.storage import certificates as records
from certsvc.storage.db import transaction
from certsvc.storage.models import Certificate, PendingRequest

log = get_logger("certsvc.reconcile")

RECONCILE_AFTER = timedelta(minutes=15)
"""Pending rows younger than this may still have their CA call in flight; keep it above
the adapter's issue deadline."""
RECONCILE_SKEW = timedelta(minutes=10)
"""How far before our request the CA's clock may have stamped the certificate."""


def reconcile(parts: Parts, by: Actor, older_than: timedelta = RECONCILE_AFTER) -> Reconciled:
    """Settle ``pending`` rows whose CA answer was lost: never issue twice.

    Asks the CA what it issued for the request's public key since the request was
    written, leaving out certificates already recorded (another key's, or taken: two
    lost answers for one key are two requests, each gets its own certificate or is
    dropped). A certificate found is recorded as the request intended (its predecessor
    linked and revoked as asked); one whose key certsvc made is revoked at once, since
    that key died with the lost call. A request the CA never issued is dropped and its
    predecessor released, so it may be retried. Each row is settled on its own: one
    whose settling fails (the CA is down, the answer clashes with what is stored) stays
    pending, is reported, and the others are settled regardless. Then revocations cut
    off by a crash are completed and the CA's own revocations (its mirrored CRLs) are
    recorded.
    """
    now = parts.clock.now()
    with parts.sessions() as session:
        pending = session.execute(
            select(Certificate.id, Certificate.public_key_sha256, Certificate.requested_at)
            .where(
                Certificate.state == CertState.PENDING, Certificate.requested_at <= now - older_than
            )
            .order_by(Certificate.id)
        ).all()
    settled: list[str] = []
    dropped = 0
    failed: list[Unsettled] = []
    for row_id, key_hash, requested_at in pending:
        try:
            serial = _settle_one(parts, by, row_id, key_hash, requested_at)
        except (CertsvcError, IntegrityError) as exc:
            error = _described(exc)
            log.warning("reconcile.failed", request=row_id, error=error)
            failed.append(Unsettled(row_id, error))
            continue
        if serial is None:
            dropped += 1
        else:
            settled.append(serial)
    done = revocations.settle_revocations(parts, older_than)
    failed.extend(Unsettled(0, error) for error in done.failed)
    adopted = revocations.adopt_ca_revocations(parts, by)
    return Reconciled(settled, dropped, failed, [*done.revoked, *adopted])


def _described(exc: Exception) -> str:
    if isinstance(exc, IntegrityError):
        return f"the CA's answer clashes with a stored certificate ({exc.orig}); skipped"
    return str(exc)


def _settle_one(
    parts: Parts, by: Actor, row_id: int, key_hash: str, requested_at: datetime
) -> str | None:
    """Settle one pending row; the serial recorded, or None when the request was dropped."""
    since, until = requested_at - RECONCILE_SKEW, requested_at + RECONCILE_SKEW
    known = _recorded_refs(parts, since)
    found = parts.adapter.find_issued(key_hash, since, until, known)
    if found is None:
        recording.abandon(parts.sessions, row_id)
        return None
    order = _intent(parts, row_id, by)
    return settle(parts, row_id, found, order).serial or found.ca_ref


def _recorded_refs(parts: Parts, since: datetime) -> frozenset[str]:
    """The CA references of every certificate recorded since ``since``: each is another
    key's or already taken by a request for this key, so none needs fetching."""
    with parts.sessions() as session:
        refs = session.scalars(
            select(Certificate.ca_ref).where(
                Certificate.adapter == parts.adapter.name,
                Certificate.requested_at >= since - RECONCILE_SKEW,
                Certificate.ca_ref.is_not(None),
            )
        ).all()
    return frozenset(ref for ref in refs if ref)


def settle(parts: Parts, row_id: int, issued: IssuedCertificate, order: Order) -> CertificateView:
    """Record a CA's answer for a pending row found by ``reconcile``.

    A certificate whose key was lost is revoked at the CA first (a failure leaves
    the row pending for the next run), then recorded issued and revoked at once.
    """
    lost = RevocationReason.cessationOfOperation
    if order.key_lost:
        parts.adapter.revoke(issued.certificate.serial_number, lost, parts.clock.now())
    revoke_failed = recording.revoke_predecessor_at_ca(parts, order.predecessor, order.by)
    order = replace(order, revoke_failed=revoke_failed)
    with transaction(parts.sessions) as session:
        _, view = recording.finish(session, parts, row_id, issued, order, None)
        if not order.key_lost:
            return view
        row = session.get_one(Certificate, row_id)
        effects.mark_revoked(session, row, lost, order.by, parts.clock.now(), mail=False)
        return certificate_view(row, parts.settings.zone)


def _intent(parts: Parts, row_id: int, by: Actor) -> Order:
    """The order a pending row was for; a lost key means it replaces nothing after all."""
    with transaction(parts.sessions) as session:
        row = session.get_one(Certificate, row_id)
        intent = session.get(PendingRequest, row_id)
        subscriber = records.subscriber_ref_of(row.subscriber)
        if intent is None:
            return Order(subscriber, by, None, False)
        if intent.server_key:  # the key died with the lost call: leave the old one alone
            recording.release_predecessor(session, row_id)
            return Order(subscriber, by, None, False, key_lost=True)
        return Order(subscriber, by, _predecessor(session, intent), intent.awaiting_pickup)


def _predecessor(session: Session, intent: PendingRequest) -> Predecessor | None:
    if intent.predecessor_id is None:
        return None
    old = session.get_one(Certificate, intent.predecessor_id)
    reason = intent.reason or RevocationReason.superseded
    return Predecessor(old.id, old.serial or "", intent.action, intent.revoke_old, reason)

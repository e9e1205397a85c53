"""Keeping certificates right over time: expiry, overdue revocations, lost CA answers.

The nightly run calls these through ``Lifecycle``. Reconciling needs the intent of each
pending request (what it replaces, whether to revoke that one, whether it awaits pickup,
whether certsvc made the key), so that intent is stored beside the pending row and
deleted when the row is settled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CertsvcError
from certsvc.feed.version import record_change
from certsvc.lifecycle.orders import Order, Predecessor, Reconciled, Unsettled
from certsvc.logging import get_logger
from certsvc.storage import certificates as records
from certsvc.storage.certificates import EXPIRED, ISSUED, PENDING
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, PendingRequest

if TYPE_CHECKING:
    from certsvc.lifecycle.operations import Lifecycle

log = get_logger("certsvc.upkeep")

RECONCILE_AFTER = timedelta(minutes=15)
"""Pending rows younger than this may still have their CA call in flight; keep it above
the adapter's issue deadline."""
RECONCILE_SKEW = timedelta(minutes=10)
"""How far before our request the CA's clock may have stamped the certificate."""


def remember_intent(session: Session, row_id: int, order: Order, server_key: bool) -> None:
    """Keep what a pending request is for, beside it, in its own transaction."""
    old = order.predecessor
    session.add(
        PendingRequest(
            certificate_id=row_id,
            action=old.action if old else "issue",
            predecessor_id=old.id if old else None,
            revoke_old=old.revoke_old if old else None,
            reason=old.reason.value if old else None,
            awaiting_pickup=order.awaiting_pickup,
            server_key=server_key,
        )
    )


def forget_intent(session: Session, row_id: int) -> None:
    session.execute(delete(PendingRequest).where(PendingRequest.certificate_id == row_id))


def release_predecessor(session: Session, row_id: int) -> None:
    """Undo the claim a request put on the certificate it was to replace."""
    session.execute(
        update(Certificate)
        .where(Certificate.superseded_by_id == row_id)
        .values(superseded_by_id=None)
    )


def abandon(sessions: SessionFactory, pending_id: int) -> None:
    """The CA did not issue: forget the request and release a claimed predecessor."""
    with transaction(sessions) as session:
        row = session.get(Certificate, pending_id, with_for_update=True)
        if row is None or row.state != PENDING:
            return  # settled meanwhile: nothing to forget
        release_predecessor(session, pending_id)
        session.delete(row)


def expire_due(lifecycle: Lifecycle, by: Actor) -> list[str]:
    """Mark ``expired`` every issued certificate past its ``invalid_from``."""
    now = lifecycle.clock.now()
    with transaction(lifecycle.sessions) as session:
        rows = session.scalars(
            select(Certificate).where(Certificate.state == ISSUED, Certificate.invalid_from <= now)
        ).all()
        for row in rows:
            row.state = EXPIRED
            record_change(session, "remove", row.serial or "", row.sha256 or "", now)
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


def revoke_overdue(lifecycle: Lifecycle, by: Actor) -> list[str]:
    """Revoke predecessors whose on-pickup grace has run out; returns their serials."""
    now = lifecycle.clock.now()
    with lifecycle.sessions() as session:
        # Only the partial index on revoke_due_at: a state condition would tempt the
        # planner into walking every issued certificate.
        due = session.execute(
            select(Certificate.serial, Certificate.revoke_due_reason, Certificate.state).where(
                Certificate.revoke_due_at <= now
            )
        ).all()
    revoked: list[str] = []
    for serial, reason, state in due:
        if serial and reason and state == ISSUED:
            lifecycle.revoke(serial, RevocationReason(reason), by)
            revoked.append(serial)
    return revoked


def reconcile(lifecycle: Lifecycle, by: Actor, older_than: timedelta) -> Reconciled:
    """Settle ``pending`` rows whose CA answer was lost: never issue twice.

    Asks the CA what it issued for the request's public key since the request was
    written. A certificate found is recorded as the request intended (its predecessor
    linked and revoked as asked); one whose key certsvc made is revoked at once, since
    that key died with the lost call. A request the CA never issued is dropped and its
    predecessor released, so it may be retried. A row whose settling fails (the CA is
    down, the answer clashes with what is stored) stays pending for the next run and is
    reported; the other rows are settled regardless.
    """
    now = lifecycle.clock.now()
    with lifecycle.sessions() as session:
        pending = session.execute(
            select(Certificate.id, Certificate.public_key_sha256, Certificate.requested_at)
            .where(Certificate.state == PENDING, Certificate.requested_at <= now - older_than)
            .order_by(Certificate.id)
        ).all()
    settled: list[str] = []
    dropped = 0
    failed: list[Unsettled] = []
    for row_id, key_hash, requested_at in pending:
        try:
            serial = _settle_one(lifecycle, by, row_id, key_hash, requested_at - RECONCILE_SKEW)
        except CertsvcError as exc:
            log.warning("reconcile.failed", request=row_id, error=str(exc))
            failed.append(Unsettled(row_id, str(exc)))
            continue
        if serial is None:
            dropped += 1
        else:
            settled.append(serial)
    return Reconciled(settled, dropped, failed)


def _settle_one(
    lifecycle: Lifecycle, by: Actor, row_id: int, key_hash: str, since: datetime
) -> str | None:
    """Settle one pending row; the serial recorded, or None when the request was dropped."""
    found = lifecycle.adapter.find_issued(key_hash, since, lifecycle.clock.now())
    if found is None:
        abandon(lifecycle.sessions, row_id)
        return None
    order = _intent(lifecycle, row_id, by)
    return lifecycle.settle(row_id, found, order).serial or found.ca_ref


def _intent(lifecycle: Lifecycle, row_id: int, by: Actor) -> Order:
    """The order a pending row was for; a lost key means it replaces nothing after all."""
    with transaction(lifecycle.sessions) as session:
        row = session.get_one(Certificate, row_id)
        intent = session.get(PendingRequest, row_id)
        subscriber = records.subscriber_ref_of(row.subscriber)
        if intent is None:
            return Order(subscriber, by, None, False)
        if intent.server_key:  # the key died with the lost call: leave the old one alone
            release_predecessor(session, row_id)
            return Order(subscriber, by, None, False, key_lost=True)
        return Order(subscriber, by, _predecessor(session, intent), intent.awaiting_pickup)


def _predecessor(session: Session, intent: PendingRequest) -> Predecessor | None:
    if intent.predecessor_id is None:
        return None
    old = session.get_one(Certificate, intent.predecessor_id)
    reason = RevocationReason(intent.reason or RevocationReason.superseded.value)
    return Predecessor(old.id, old.serial or "", intent.action, intent.revoke_old, reason)

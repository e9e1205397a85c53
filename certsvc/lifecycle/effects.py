"""What a certificate change leaves behind, inside the change's own transaction.

Every state change writes the same three things: a feed change (the gateway's allowlist),
an audit event (who, under which ticket, before and after) and an outbox mail to the
subscriber. Writing them here, in the caller's session, is what makes them commit or
vanish together with the change; nothing is sent before the commit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.domain.certificates import CertState, Issuance
from certsvc.domain.policy import RevocationReason
from certsvc.errors import Conflict
from certsvc.feed.version import record_change
from certsvc.lifecycle.orders import Order
from certsvc.notify.outbox import enqueue
from certsvc.storage import certificates as records
from certsvc.storage.certificates import SubscriberRef
from certsvc.storage.models import Certificate


def record_issued(session: Session, issuance: Issuance, order: Order, now: datetime) -> None:
    """The allowlist entry, the audit event and the mail of a newly issued certificate."""
    record, subscriber = issuance.record, order.subscriber
    serial = record.serial
    record_change(session, "add", serial, record.sha256, now)
    after = {
        "state": CertState.ISSUED.value,
        "expiry_date": str(record.expiry_date),
        "sha256": record.sha256,
    }
    if order.predecessor is not None:
        after["replaces"] = order.predecessor.serial
    action = f"certificate.{order.predecessor.action}" if order.predecessor else "certificate.issue"
    audit.record(
        session,
        order.by,
        action,
        now,
        company_number=subscriber.company_number,
        serial=serial,
        after=after,
    )
    if order.key_lost:
        return  # revoked in the same transaction: a mail would offer a useless certificate
    kind = f"{action}d" if action.endswith("e") else f"{action}ed"
    notify(session, kind, serial, subscriber, (record.expiry_date, None), now)


def mark_revoked(
    session: Session,
    row: Certificate,
    reason: RevocationReason,
    by: Actor,
    now: datetime,
    *,
    mail: bool = True,
    previous_holder: bool = True,
) -> None:
    """Record a revocation the CA has made: once, off the allowlist, audited and mailed
    (unless ``mail`` is False: the subscriber never had the certificate).

    The notice goes to the address the certificate carries: after a user change that is
    the old person's, never the new person's, and only if ``previous_holder`` (the
    ``[reissue] notify_previous_holder`` setting) allows mailing them.

    :raises Conflict: the certificate is no longer issued (revoked or expired meanwhile).
    """
    changed = session.execute(
        update(Certificate)
        .where(Certificate.id == row.id, Certificate.state == CertState.ISSUED)
        .values(
            state=CertState.REVOKED,
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
    serial, subscriber = row.serial or "", records.subscriber_ref_of(row.subscriber)
    record_change(session, "remove", serial, row.sha256 or "", now)
    audit.record(
        session,
        by,
        "certificate.revoke",
        now,
        company_number=subscriber.company_number,
        serial=serial,
        before={"state": CertState.ISSUED.value},
        after={"state": CertState.REVOKED.value, "reason": reason.value},
    )
    if not mail:
        return
    if row.email != subscriber.email:  # the user ID changed hands: the old person is told
        if not previous_holder:
            return
        subscriber = replace(subscriber, email=row.email, display_name="")
    notify(session, "certificate.revoked", serial, subscriber, (row.expiry_date, reason), now)


def notify(
    session: Session,
    kind: str,
    serial: str,
    subscriber: SubscriberRef,
    facts: tuple[date | None, RevocationReason | None],
    now: datetime,
) -> None:
    """Queue the event mail to the subscriber in the change's own transaction;
    ``facts`` are the expiry date and (for a revocation) the reason the mail names."""
    expiry_date, reason = facts
    enqueue(
        session,
        channel="mail",
        kind=kind,
        dedupe_key=f"{kind}:{serial}:{subscriber.email}",
        recipient=subscriber.email,
        payload={
            "serial": serial,
            "company_number": subscriber.company_number,
            "company_name": subscriber.tenant_name,
            "user_id": subscriber.user_id,
            "display_name": subscriber.display_name,
            "locale": subscriber.locale,
            "expiry_date": str(expiry_date),
            "revocation_reason": reason.value if reason else None,
        },
        at=now,
    )

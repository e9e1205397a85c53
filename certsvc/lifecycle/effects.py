"""What a certificate change leaves behind, inside the change's own transaction.

Every state change writes the same three things: a feed change (the gateway's allowlist),
an audit event (who, under which ticket, before and after) and an outbox mail to the
subscriber. Writing them here, in the caller's session, is what makes them commit or
vanish together with the change; nothing is sent before the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.domain.policy import RevocationReason
from certsvc.errors import Conflict
from certsvc.feed.version import record_change
from certsvc.lifecycle.orders import Order
from certsvc.notify.outbox import enqueue
from certsvc.storage import certificates as records
from certsvc.storage.certificates import ISSUED, REVOKED, SubscriberRef
from certsvc.storage.models import Certificate


def record_issued(session: Session, values: dict[str, Any], order: Order, now: datetime) -> None:
    """The allowlist entry, the audit event and the mail of a newly issued certificate."""
    serial, subscriber = values["serial"], order.subscriber
    record_change(session, "add", serial, values["sha256"], now)
    after = {
        "state": ISSUED,
        "expiry_date": str(values["expiry_date"]),
        "sha256": values["sha256"],
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
    notify(session, kind, serial, subscriber, values, now)


def mark_revoked(
    session: Session,
    row: Certificate,
    reason: RevocationReason,
    by: Actor,
    now: datetime,
    *,
    mail: bool = True,
) -> None:
    """Record a revocation the CA has made: once, off the allowlist, audited and mailed
    (unless ``mail`` is False: the subscriber never had the certificate).

    :raises Conflict: the certificate is no longer issued (revoked or expired meanwhile).
    """
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
    serial, subscriber = row.serial or "", records.subscriber_ref_of(row.subscriber)
    record_change(session, "remove", serial, row.sha256 or "", now)
    audit.record(
        session,
        by,
        "certificate.revoke",
        now,
        company_number=subscriber.company_number,
        serial=serial,
        before={"state": ISSUED},
        after={"state": REVOKED, "reason": reason.value},
    )
    if not mail:
        return
    values = {"expiry_date": row.expiry_date, "revocation_reason": reason.value}
    notify(session, "certificate.revoked", serial, subscriber, values, now)


def notify(
    session: Session,
    kind: str,
    serial: str,
    subscriber: SubscriberRef,
    values: dict[str, Any],
    now: datetime,
) -> None:
    """Queue the event mail to the subscriber in the change's own transaction."""
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
            "expiry_date": str(values.get("expiry_date")),
            "revocation_reason": values.get("revocation_reason"),
        },
        at=now,
    )

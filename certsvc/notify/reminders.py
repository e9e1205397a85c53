"""Reminder planning: which certificates are due which reminder on a business date.

A reminder "N days before" is due on ``expiry_date - N``. Each reminder is one outbox
row per (certificate, N, recipient), so planning the same date twice queues nothing new.
Certificates that are no longer issued (revoked, expired) or whose successor is issued
*and collected* get none: a successor still waiting for pickup does not silence them
(nobody is locked out in silence), and its reminder names it (``successor``) so the
nightly run can put a fresh pickup link in the mail. After missed nights a catch-up plans
each missed date in order, but a reminder is skipped when a later (smaller N) reminder of
the same certificate is due by today: one mail, the latest, instead of a burst.

The query is by ``(state, expiry_date)`` equality on a handful of dates, so its cost
grows with the reminders due, not with the certificates stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from certsvc.domain.certificates import CertState
from certsvc.notify.outbox import NewMessage
from certsvc.storage.models import Certificate, Subscriber, Tenant

REMINDER_KIND = "certificate.reminder"


@dataclass(frozen=True)
class DueReminder:
    """One reminder to send: ``days_before`` the certificate's expiry date."""

    serial: str
    recipient: str
    days_before: int
    expiry_date: date
    payload: dict[str, Any]
    successor: tuple[int, str] | None = None
    """(row id, serial) of an issued successor that waits for pickup."""

    def message(self) -> NewMessage:
        key = f"{REMINDER_KIND}:{self.days_before}:{self.serial}:{self.recipient}"
        return NewMessage("mail", REMINDER_KIND, key, self.recipient, self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "recipient": self.recipient,
            "days_before": self.days_before,
            "expiry_date": self.expiry_date.isoformat(),
        }


def offsets_due(day: date, today: date, days_before: Sequence[int]) -> list[int]:
    """The offsets whose reminder due on ``day`` is still the latest one due by ``today``.

    Offset N is dropped when a smaller offset M falls due within the catch-up span, i.e.
    ``N - M <= today - day``: the certificate will get reminder M instead.
    """
    lag = (today - day).days
    offsets = sorted(set(days_before))
    return [n for n in offsets if not any(m < n and n - m <= lag for m in offsets)]


def due_on(
    session: Session, day: date, today: date, days_before: Sequence[int]
) -> list[DueReminder]:
    """Reminders due on business date ``day`` when planned on business date ``today``."""
    offsets = offsets_due(day, today, days_before)
    expiry_dates = [day + timedelta(days=n) for n in offsets if day + timedelta(days=n) >= today]
    if not expiry_dates:
        return []
    successor = aliased(Certificate)
    rows = session.execute(
        select(
            Certificate.serial,
            Certificate.email,
            Certificate.expiry_date,
            Subscriber.user_id,
            Subscriber.display_name,
            Subscriber.locale,
            Tenant.company_number,
            Tenant.name,
            successor.id,
            successor.serial,
            successor.state,
            successor.awaiting_pickup,
        )
        .join(Subscriber, Certificate.subscriber_id == Subscriber.id)
        .join(Tenant, Subscriber.tenant_id == Tenant.id)
        .outerjoin(successor, Certificate.superseded_by_id == successor.id)
        .where(
            Certificate.state == CertState.ISSUED,
            Certificate.expiry_date.in_(expiry_dates),
            or_(
                successor.id.is_(None),
                successor.state != CertState.ISSUED,
                successor.awaiting_pickup.is_(True),
            ),
        )
        .order_by(Certificate.id)
    ).all()
    return [_reminder(day, tuple(row)) for row in rows]


def _reminder(day: date, row: tuple[Any, ...]) -> DueReminder:
    serial, email, expiry, user_id, display_name, locale, company_number, company_name = row[:8]
    next_id, next_serial, next_state, next_waiting = row[8:]
    waiting = next_id is not None and next_state is CertState.ISSUED and next_waiting
    days_before = (expiry - day).days
    payload = {
        "serial": serial,
        "company_number": company_number,
        "company_name": company_name,
        "user_id": user_id,
        "display_name": display_name,
        "locale": locale,
        "expiry_date": expiry.isoformat(),
        "days_before": days_before,
        "successor_serial": next_serial if waiting else None,
    }
    successor = (next_id, next_serial) if waiting else None
    return DueReminder(serial, email, days_before, expiry, payload, successor)

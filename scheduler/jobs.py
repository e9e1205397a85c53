"""The nightly job: a plain function of the parts it uses (``NightlyParts``), which the
entry points (``certsvc nightly``, the scheduler daemon) build from the composition root.

One run, for every business date not yet done (in order, up to today):

1. expire issued certificates past ``invalid_from`` (the midnight after the expiry date),
2. revoke superseded certificates whose on-pickup grace has run out,
3. settle ``pending`` CA requests (reconcile) and refresh the CRLs when due,
4. plan each date's reminders into the outbox and record the date as done, in one
   transaction (a crash never records a date whose reminders were lost),
5. drain the outbox once.

Steps 1-3 act on "now" and are idempotent, so they run once per invocation; each is
isolated (its failure is recorded, alarmed, and the others run). A date that
is recorded is never run again; a run inside the maintenance window does nothing and
says when it may run. ``dry_run`` reports what would happen and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.domain.certificates import CertState
from certsvc.domain.maintenance import MaintenanceCalendar
from certsvc.errors import ConfigError
from certsvc.feed.crl import CRLPublisher
from certsvc.lifecycle import expiry, reconcile
from certsvc.lifecycle.parts import Parts
from certsvc.lifecycle.pickup_links import (
    LinkTarget,
    create_link,
    refresh_order,
    renewal_link,
    waiting_order,
)
from certsvc.logging import get_logger
from certsvc.notify.drain import DrainReport, OutboxDrainer
from certsvc.notify.outbox import NewMessage, enqueue_many
from certsvc.notify.reminders import DueReminder, due_on
from certsvc.storage.certificates import subscriber_ref_of
from certsvc.storage.db import transaction
from certsvc.storage.models import Certificate, JobRun

log = get_logger("scheduler.nightly")
NIGHTLY = "nightly"
SCHEDULER = Actor("scheduler")


@dataclass(frozen=True)
class NightlyParts:
    """What a nightly run works with: the lifecycle's parts (sessions, CA adapter, clock,
    settings), the maintenance calendar, the CRL publisher and the outbox drainer."""

    lifecycle: Parts
    maintenance: MaintenanceCalendar
    crls: CRLPublisher
    outbox: OutboxDrainer


@dataclass
class NightlyReport:
    """What a nightly run did (or, with ``dry_run``, would do)."""

    business_dates: list[date] = field(default_factory=list)
    dry_run: bool = False
    deferred_until: datetime | None = None
    reminders: list[DueReminder] = field(default_factory=list)
    reminders_queued: int = 0
    expired: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    crl_numbers: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    drain: DrainReport | None = None

    def counts(self) -> dict[str, int]:
        drain = self.drain or DrainReport()
        return {
            "dates": len(self.business_dates),
            "reminders_planned": len(self.reminders),
            "reminders_queued": self.reminders_queued,
            "expired": len(self.expired),
            "revoked": len(self.revoked),
            "reconciled": len(self.reconciled),
            "mails_sent": drain.sent,
            "mails_retried": drain.retried,
            "mails_failed": drain.failed,
            "errors": len(self.errors),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "business_dates": [day.isoformat() for day in self.business_dates],
            "dry_run": self.dry_run,
            "deferred_until": self.deferred_until.isoformat() if self.deferred_until else None,
            "reminders": [reminder.to_dict() for reminder in self.reminders],
            "expired": self.expired,
            "revoked": self.revoked,
            "reconciled": self.reconciled,
            "crl_numbers": self.crl_numbers,
            "errors": self.errors,
            "drain": self.drain.to_dict() if self.drain else None,
            "counts": self.counts(),
        }


def run_nightly(parts: NightlyParts, *, dry_run: bool = False, drain: bool = True) -> NightlyReport:
    """Run (or preview) the nightly job at the parts' ``clock.now()``."""
    lifecycle = parts.lifecycle
    now = lifecycle.clock.now()
    window = parts.maintenance.window_at(now)
    if window is not None:
        log.info("nightly.deferred", until=window.ends_at.isoformat())
        return NightlyReport(dry_run=dry_run, deferred_until=window.ends_at)
    today = now.astimezone(lifecycle.settings.zone).date()
    with lifecycle.sessions() as session:
        dates = pending_dates(session, today, lifecycle.settings.scheduler.max_catch_up_days)
    report = NightlyReport(business_dates=dates, dry_run=dry_run)
    if dates and dry_run:
        _preview(lifecycle, report, today, now)
    elif dates:
        _act_on_now(parts, report)
        for day in dates:
            _plan_date(lifecycle, report, day, today, started_at=now)
    if drain and not dry_run:
        report.drain = parts.outbox.drain()
    log.info(
        "nightly.run",
        dry_run=dry_run,
        business_dates=[day.isoformat() for day in dates],
        **report.counts(),
    )
    return report


def pending_dates(session: Session, today: date, max_days: int) -> list[date]:
    """Business dates not yet done, oldest first, at most ``max_days`` of them."""
    last = session.scalar(select(func.max(JobRun.business_date)).where(JobRun.job == NIGHTLY))
    if last is None:
        return [today]
    first = max(last + timedelta(days=1), today - timedelta(days=max_days - 1))
    return [first + timedelta(days=n) for n in range((today - first).days + 1)]


def _act_on_now(parts: NightlyParts, report: NightlyReport) -> None:
    """Expire, revoke overdue, reconcile, refresh CRLs: each step on its own.

    Whatever one step raises (a CA failure, a clash in the database, a bug) is recorded
    in the report and the run's record and raised as an alarm (an error log line), and
    the other steps, the reminders and the drain still run.
    """
    lifecycle = parts.lifecycle
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("expire", lambda: setattr(report, "expired", _expire(lifecycle))),
        ("revoke overdue", lambda: setattr(report, "revoked", _overdue(lifecycle))),
        ("reconcile", lambda: _reconcile(lifecycle, report)),
        ("CRL refresh", lambda: _refresh_crls(parts, report)),
    )
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one failing step must not stop the others
            report.errors.append(f"{name}: {exc}")
            log.error("nightly.step_failed", step=name, error=repr(exc))


def _expire(lifecycle: Parts) -> list[str]:
    return expiry.expire_due(lifecycle.sessions, lifecycle.clock, SCHEDULER)


def _overdue(lifecycle: Parts) -> list[str]:
    return expiry.revoke_overdue(lifecycle, SCHEDULER)


def _reconcile(lifecycle: Parts, report: NightlyReport) -> None:
    """Settle what can be settled; every row left pending is an alarm of its own."""
    result = reconcile.reconcile(lifecycle, SCHEDULER)
    report.reconciled = [*result.issued, *result.revoked]
    for each in result.failed:
        what = f"request {each.request_id}" if each.request_id else "revocation"
        report.errors.append(f"reconcile: {what}: {each.error}")
        log.error("nightly.step_failed", step="reconcile", error=f"{what}: {each.error}")


def _refresh_crls(parts: NightlyParts, report: NightlyReport) -> None:
    try:
        report.crl_numbers = [crl.number for crl in parts.crls.current()]
    except ConfigError:
        pass  # the CA publishes its own CRLs


def _plan_date(
    parts: Parts, report: NightlyReport, day: date, today: date, started_at: datetime
) -> None:
    """Queue ``day``'s reminders and record ``day`` as done, atomically."""
    now = parts.clock.now()
    days_before = parts.settings.reminders.days_before
    try:
        with transaction(parts.sessions) as session:
            due = due_on(session, day, today, days_before)
            messages = [_reminder_message(session, parts, reminder, now) for reminder in due]
            queued = enqueue_many(session, messages, now)
            counts: dict[str, Any] = {"reminders_planned": len(due), "reminders_queued": queued}
            if day == today:
                counts |= {"expired": len(report.expired), "revoked": len(report.revoked)}
                counts |= {"errors": list(report.errors)}
            session.add(
                JobRun(
                    job=NIGHTLY,
                    business_date=day,
                    started_at=started_at,
                    finished_at=now,
                    counts=counts,
                )
            )
    except IntegrityError:
        log.info("nightly.date_done_elsewhere", business_date=day.isoformat())
        return
    report.reminders.extend(due)
    report.reminders_queued += queued


def _reminder_message(
    session: Session, parts: Parts, reminder: DueReminder, now: datetime
) -> NewMessage:
    """A reminder carries one way forward: the pickup link of a successor that waits to be
    collected, else a fresh link to a renewal or reissue that waits for the subscriber's
    key, else a personal renewal link."""
    if reminder.successor is not None:
        return _with_link(session, parts, reminder, now).message()
    order = waiting_order(session, reminder.serial)
    if order is not None:
        ticket = refresh_order(session, parts.settings, order, SCHEDULER, now)
        payload = {
            **reminder.payload,
            "waiting_action": ticket.action,
            "link": ticket.link,
            "link_expires_at": ticket.expires_at.isoformat(),
        }
        return replace(reminder, payload=payload).message()
    return _with_renewal_link(session, parts, reminder, now)


def _with_link(session: Session, parts: Parts, reminder: DueReminder, now: datetime) -> DueReminder:
    """A reminder whose successor still waits for pickup carries a fresh pickup link (the
    old one may have expired, and only its digest is kept)."""
    if reminder.successor is None:
        return reminder
    row = session.get_one(Certificate, reminder.successor[0])
    target = LinkTarget(certificate=reminder.successor)
    ref = subscriber_ref_of(row.subscriber)
    ticket = create_link(session, parts.settings, ref, target, SCHEDULER, now, mail=False)
    payload = {
        **reminder.payload,
        "link": ticket.link,
        "link_expires_at": ticket.expires_at.isoformat(),
    }
    return replace(reminder, payload=payload)


def _with_renewal_link(
    session: Session, parts: Parts, reminder: DueReminder, now: datetime
) -> NewMessage:
    """The reminder's mail with its personal renewal link, written in the same transaction."""
    message = reminder.message()
    link = renewal_link(session, parts.settings, reminder.serial, now)
    return replace(message, payload={**message.payload, "renewal_link": link})


def _preview(parts: Parts, report: NightlyReport, today: date, now: datetime) -> None:
    """What a real run would do now, read-only."""
    days_before = parts.settings.reminders.days_before
    with parts.sessions() as session:
        for day in report.business_dates:
            report.reminders.extend(due_on(session, day, today, days_before))
        report.expired = _serials(
            session, Certificate.state == CertState.ISSUED, Certificate.invalid_from <= now
        )
        report.revoked = _serials(
            session, Certificate.state == CertState.ISSUED, Certificate.revoke_due_at <= now
        )


def _serials(session: Session, *conditions: Any) -> list[str]:
    rows = session.scalars(select(Certificate.serial).where(*conditions).order_by(Certificate.id))
    return [serial or "" for serial in rows]

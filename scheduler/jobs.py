"""The nightly job: a plain function of the parts it uses (``NightlyParts``), which the
entry points (``certsvc nightly``, the scheduler daemon) build from the composition root.

One run, for every business date not yet done (in order, up to today):

1. expire issued certificates past ``invalid_from`` (the midnight after the expiry date),
2. revoke superseded certificates whose on-pickup grace has run out,
3. settle ``pending`` CA requests (reconcile) and refresh the CRLs when due,
4. plan each date's reminders into the outbox and record the date as done, in one
   transaction (a crash never records a date whose reminders were lost),
5. drain the outbox once.

Steps 1-3 act on "now" and are idempotent, so they run once per invocation. A date that
is recorded is never run again; a run inside the maintenance window does nothing and
says when it may run. ``dry_run`` reports what would happen and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.domain.certificates import CertState
from certsvc.domain.maintenance import MaintenanceCalendar
from certsvc.errors import CertsvcError, ConfigError
from certsvc.feed.crl import CRLPublisher
from certsvc.lifecycle import expiry, reconcile
from certsvc.lifecycle.parts import Parts
from certsvc.logging import get_logger
from certsvc.notify.drain import DrainReport, OutboxDrainer
from certsvc.notify.outbox import enqueue_many
from certsvc.notify.reminders import DueReminder, due_on
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
    """Expire, revoke overdue, reconcile, refresh CRLs; a CA failure does not stop the rest."""
    lifecycle = parts.lifecycle
    report.expired = expiry.expire_due(lifecycle.sessions, lifecycle.clock, SCHEDULER)
    try:
        report.revoked = expiry.revoke_overdue(lifecycle, SCHEDULER)
    except CertsvcError as exc:
        report.errors.append(f"revoke overdue: {exc}")
    try:
        report.reconciled = reconcile.reconcile(lifecycle, SCHEDULER).issued
    except CertsvcError as exc:
        report.errors.append(f"reconcile: {exc}")
    try:
        report.crl_numbers = [crl.number for crl in parts.crls.current()]
    except ConfigError:
        pass  # the CA publishes its own CRLs
    except CertsvcError as exc:
        report.errors.append(f"CRL refresh: {exc}")
    for error in report.errors:
        log.error("nightly.step_failed", error=error)


def _plan_date(
    parts: Parts, report: NightlyReport, day: date, today: date, started_at: datetime
) -> None:
    """Queue ``day``'s reminders and record ``day`` as done, atomically."""
    now = parts.clock.now()
    days_before = parts.settings.reminders.days_before
    try:
        with transaction(parts.sessions) as session:
            due = due_on(session, day, today, days_before)
            queued = enqueue_many(session, [reminder.message() for reminder in due], now)
            counts = {"reminders_planned": len(due), "reminders_queued": queued}
            if day == today:
                counts |= {"expired": len(report.expired), "revoked": len(report.revoked)}
                counts["errors"] = len(report.errors)  # the run's outcome, for /metrics
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

"""The counts a dashboard shows, read from the database at scrape time.

Reading them from the rows (not from in-process counters) keeps them right across
restarts and across several instances: every instance reports the same numbers. Each is
one indexed aggregate query, so a scrape costs a few milliseconds, not a table walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.storage.models import (
    AuditEvent,
    Certificate,
    Credential,
    JobRun,
    OutboxMessage,
    PublishedCRL,
)

EXPIRY_WINDOWS = (7, 30)


@dataclass(frozen=True)
class CRLStat:
    ca_name: str
    number: int
    this_update: datetime
    next_update: datetime


@dataclass(frozen=True)
class JobStat:
    job: str
    finished_at: datetime
    failures: int


@dataclass(frozen=True)
class ServiceStats:
    """One scrape's numbers; mappings are keyed by label values."""

    by_state: dict[str, int]
    expiring_within: dict[int, int]
    actions: dict[tuple[str, str], int]
    revocations: dict[str, int]
    outbox_queued: int
    oldest_queued: datetime | None
    crls: tuple[CRLStat, ...]
    jobs: tuple[JobStat, ...]
    locked_credentials: int
    failed_attempts: int


def read_stats(session: Session, now: datetime) -> ServiceStats:
    by_state = dict(
        session.execute(select(Certificate.state, func.count()).group_by(Certificate.state)).all()
    )
    expiring = {
        days: session.scalar(
            select(func.count()).where(
                Certificate.state == CertState.ISSUED,
                Certificate.not_after >= now,
                Certificate.not_after < now + timedelta(days=days),
            )
        )
        or 0
        for days in EXPIRY_WINDOWS
    }
    actions = session.execute(
        select(AuditEvent.action, AuditEvent.outcome, func.count()).group_by(
            AuditEvent.action, AuditEvent.outcome
        )
    ).all()
    revocations = session.execute(
        select(Certificate.revocation_reason, func.count())
        .where(Certificate.state == CertState.REVOKED)
        .group_by(Certificate.revocation_reason)
    ).all()
    queued, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "queued"
        )
    ).one()
    return ServiceStats(
        by_state={str(getattr(state, "value", state)): count for state, count in by_state.items()},
        expiring_within=expiring,
        actions={(action, outcome): count for action, outcome, count in actions},
        revocations={reason or "unspecified": count for reason, count in revocations},
        outbox_queued=queued,
        oldest_queued=oldest,
        crls=_crls(session),
        jobs=_jobs(session),
        locked_credentials=session.scalar(select(func.count()).where(Credential.locked_until > now))
        or 0,
        failed_attempts=session.scalar(select(func.sum(Credential.failed_attempts))) or 0,
    )


def _crls(session: Session) -> tuple[CRLStat, ...]:
    newest = (
        select(PublishedCRL.ca_name, func.max(PublishedCRL.number).label("number"))
        .group_by(PublishedCRL.ca_name)
        .subquery()
    )
    rows = session.execute(
        select(PublishedCRL).join(
            newest,
            (PublishedCRL.ca_name == newest.c.ca_name) & (PublishedCRL.number == newest.c.number),
        )
    ).scalars()
    return tuple(
        CRLStat(row.ca_name, row.number, row.this_update, row.next_update)
        for row in sorted(rows, key=lambda row: row.ca_name)
    )


def _jobs(session: Session) -> tuple[JobStat, ...]:
    """The last run of every job, with the steps that failed (``counts['errors']``)."""
    newest = (
        select(JobRun.job, func.max(JobRun.finished_at).label("finished_at"))
        .group_by(JobRun.job)
        .subquery()
    )
    rows = session.execute(
        select(JobRun).join(
            newest,
            (JobRun.job == newest.c.job) & (JobRun.finished_at == newest.c.finished_at),
        )
    ).scalars()
    return tuple(
        JobStat(row.job, row.finished_at, _error_count(row.counts.get("errors")))
        for row in sorted(rows, key=lambda row: row.job)
    )


def _error_count(errors: object) -> int:
    """The nightly run records its failed steps as a list of lines; other jobs a count."""
    if isinstance(errors, list):
        return len(errors)
    return int(errors) if isinstance(errors, int) else 0

"""The expiry dashboard's numbers, per tenant: what the helpdesk must act on next.

Certificates still valid (``issued``) whose expiry date falls within 7, 30 and 60 days
of today (today counts; the windows nest), pickups waiting (mailed, unused, not yet
expired), mails that failed for good (the outbox gave up; a mail is counted for the
tenant its payload names), and subscribers locked out right now. Each figure is one
grouped query over an index (state + expiry date, the outbox status, the partial
indexes of migration 0009), so the cost follows the rows that count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.storage.models import (
    Certificate,
    Credential,
    OutboxMessage,
    Pickup,
    Subscriber,
    Tenant,
)

WINDOWS = (7, 30, 60)
FAILED = "failed"


@dataclass(frozen=True)
class TenantFigures:
    """One tenant's line of the dashboard (or the totals, with ``company_number`` None)."""

    company_number: str | None
    company_name: str
    expiring_7: int
    expiring_30: int
    expiring_60: int
    pickups_waiting: int
    failed_mails: int
    locked_subscribers: int


@dataclass(frozen=True)
class Dashboard:
    """Tenants with anything to show, by company number, and the totals over them."""

    today: date
    tenants: tuple[TenantFigures, ...]
    totals: TenantFigures


def dashboard(session: Session, today: date, now: datetime, scope: str | None = None) -> Dashboard:
    """The figures as of ``now`` (``today``: its date in the business zone)."""
    expiring = _expiring(session, today, scope)
    pickups = _per_tenant(session, _pickups(now), scope)
    locked = _per_tenant(session, _locked(now), scope)
    mails = _failed_mails(session, scope)
    names = dict(
        session.execute(
            select(Tenant.company_number, Tenant.name).where(
                Tenant.company_number.in_(set(expiring) | set(pickups) | set(locked) | set(mails))
            )
        ).all()
    )
    tenants = tuple(
        TenantFigures(
            number,
            names[number],
            *_three(expiring.get(number, (0, 0, 0))),
            pickups.get(number, 0),
            mails.get(number, 0),
            locked.get(number, 0),
        )
        for number in sorted(names)
    )
    return Dashboard(today, tenants, _totals(tenants))


def _three(counts: tuple[int, ...]) -> tuple[int, int, int]:
    first, second, third = counts
    return first, second, third


def _expiring(session: Session, today: date, scope: str | None) -> dict[str, tuple[int, ...]]:
    last = today + timedelta(days=max(WINDOWS))
    counts = [
        func.sum(case((Certificate.expiry_date <= today + timedelta(days=days), 1), else_=0))
        for days in WINDOWS
    ]
    statement = (
        select(Tenant.company_number, *counts)
        .select_from(Tenant)
        .join(Subscriber, Subscriber.tenant_id == Tenant.id)
        .join(Certificate, Certificate.subscriber_id == Subscriber.id)
        .where(
            Certificate.state == CertState.ISSUED,
            Certificate.expiry_date >= today,
            Certificate.expiry_date <= last,
        )
        .group_by(Tenant.company_number)
    )
    if scope is not None:
        statement = statement.where(Tenant.company_number == scope)
    return {row[0]: tuple(int(n or 0) for n in row[1:]) for row in session.execute(statement)}


def _pickups(now: datetime) -> Select[str, int]:
    return (
        select(Tenant.company_number, func.count())
        .select_from(Pickup)
        .join(Subscriber, Pickup.subscriber_id == Subscriber.id)
        .join(Tenant, Subscriber.tenant_id == Tenant.id)
        .where(Pickup.used_at.is_(None), Pickup.expires_at > now)
    )


def _locked(now: datetime) -> Select[str, int]:
    return (
        select(Tenant.company_number, func.count())
        .select_from(Credential)
        .join(Subscriber, Credential.subscriber_id == Subscriber.id)
        .join(Tenant, Subscriber.tenant_id == Tenant.id)
        .where(Credential.locked_until.is_not(None), Credential.locked_until > now)
    )


def _per_tenant(session: Session, statement: Select[str, int], scope: str | None) -> dict[str, int]:
    if scope is not None:
        statement = statement.where(Tenant.company_number == scope)
    grouped = statement.group_by(Tenant.company_number)
    return {number: count for number, count in session.execute(grouped)}


def _failed_mails(session: Session, scope: str | None) -> dict[str, int]:
    """Failed mails by the tenant their payload names (mails naming none are left out)."""
    company: ColumnElement[str] = OutboxMessage.payload["company_number"].as_string()
    statement = (
        select(company, func.count())
        .where(OutboxMessage.channel == "mail", OutboxMessage.status == FAILED)
        .where(company.is_not(None))
        .group_by(company)
    )
    if scope is not None:
        statement = statement.where(company == scope)
    return {number: count for number, count in session.execute(statement)}


def _totals(tenants: tuple[TenantFigures, ...]) -> TenantFigures:
    return TenantFigures(
        None,
        "",
        sum(line.expiring_7 for line in tenants),
        sum(line.expiring_30 for line in tenants),
        sum(line.expiring_60 for line in tenants),
        sum(line.pickups_waiting for line in tenants),
        sum(line.failed_mails for line in tenants),
        sum(line.locked_subscribers for line in tenants),
    )

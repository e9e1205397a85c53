"""The console's search box: one term, matched against everything a helpdesk is asked for.

A term matches a company number (exactly), a company name (anywhere, any case), a user
ID or an e-mail address (its start, any case; the subscriber's or the certificate's), a
serial (any case, with or without colons: compared in the stored form) or a ticket (any
case) of the audit trail: a certificate's events by serial, a subscriber's by user ID,
a tenant's own events (no user, no serial) by company. ``%`` and ``_`` are plain
characters. One row per certificate, plus one per subscriber without any and one per
tenant without subscribers; paginated, sorted by a named column, with the total count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, FromClause, and_, exists, func, or_, outerjoin, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import normalise_serial
from certsvc.errors import InputError
from certsvc.storage.models import AuditEvent, Certificate, Subscriber, Tenant

MAX_PER_PAGE = 200
MAX_TERM = 254


class SortKey(enum.Enum):
    COMPANY_NUMBER = "company_number"
    COMPANY_NAME = "company_name"
    USER_ID = "user_id"
    EMAIL = "email"
    SERIAL = "serial"
    STATE = "state"
    EXPIRY_DATE = "expiry_date"


@dataclass(frozen=True)
class SearchQuery:
    """The search box, a page and an order; ``scope`` confines it to one company."""

    term: str
    scope: str | None = None
    sort: SortKey = SortKey.COMPANY_NUMBER
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class SearchRow:
    """A certificate with its subscriber and tenant (or a subscriber or tenant alone)."""

    company_number: str
    company_name: str
    user_id: str | None
    display_name: str | None
    email: str | None
    serial: str | None
    state: CertState | None
    expiry_date: date | None


@dataclass(frozen=True)
class SearchPage:
    rows: tuple[SearchRow, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_SORT_COLUMNS = {
    SortKey.COMPANY_NUMBER: Tenant.company_number,
    SortKey.COMPANY_NAME: Tenant.name,
    SortKey.USER_ID: Subscriber.user_id,
    SortKey.EMAIL: Subscriber.email,
    SortKey.SERIAL: Certificate.serial,
    SortKey.STATE: Certificate.state,
    SortKey.EXPIRY_DATE: Certificate.expiry_date,
}


def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, query: SearchQuery) -> SearchPage:
    """One page of what matches ``query.term``, and how many rows match in all."""
    term = _checked(query)
    matches = _matches(term)
    if query.scope is not None:
        matches = and_(Tenant.company_number == query.scope, matches)
    base = select(Tenant.id).select_from(_joined()).where(matches)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    column = _SORT_COLUMNS[query.sort]
    order = column.desc() if query.descending else column.asc()
    rows = session.execute(
        select(
            Tenant.company_number,
            Tenant.name,
            Subscriber.user_id,
            Subscriber.display_name,
            Subscriber.email,
            Certificate.serial,
            Certificate.state,
            Certificate.expiry_date,
        )
        .select_from(_joined())
        .where(matches)
        .order_by(order.nulls_last(), Tenant.id, Subscriber.id, Certificate.id)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    found = tuple(SearchRow(*row) for row in rows)
    return SearchPage(found, total, query.page, query.per_page)


def _checked(query: SearchQuery) -> str:
    term = query.term.strip()
    if not term or len(term) > MAX_TERM:
        raise InputError(f"type 1-{MAX_TERM} characters to search for", "q")
    if query.page < 1 or not 1 <= query.per_page <= MAX_PER_PAGE:
        raise InputError(f"page must be >= 1 and per_page 1-{MAX_PER_PAGE}", "page")
    return term


def _joined() -> FromClause:
    """Every tenant, with its subscribers if any, with their certificates if any."""
    with_subscribers = outerjoin(Tenant, Subscriber, Subscriber.tenant_id == Tenant.id)
    return with_subscribers.outerjoin(Certificate, Certificate.subscriber_id == Subscriber.id)


def _matches(term: str) -> ColumnElement[bool]:
    lowered = term.lower()
    prefix = like_escape(lowered) + "%"
    anywhere = "%" + like_escape(lowered) + "%"
    conditions = [
        Tenant.company_number == term,
        func.lower(Tenant.name).like(anywhere, escape="\\"),
        func.lower(Subscriber.user_id).like(prefix, escape="\\"),
        func.lower(Subscriber.email).like(prefix, escape="\\"),
        func.lower(Certificate.email).like(prefix, escape="\\"),
        _ticket(lowered),
    ]
    serial = _serial(term)
    if serial is not None:
        conditions.append(Certificate.serial == serial)
    return or_(*conditions)


def _serial(term: str) -> str | None:
    try:
        return normalise_serial(term)
    except InputError:
        return None


def _ticket(lowered: str) -> ColumnElement[bool]:
    """Rows an audit event with this ticket is about (certificate, subscriber or tenant)."""
    ticket = func.lower(AuditEvent.ticket) == lowered
    user = AuditEvent.after["user_id"].as_string()
    about_certificate = and_(
        AuditEvent.serial.is_not(None), AuditEvent.serial == Certificate.serial
    )
    about_subscriber = and_(
        AuditEvent.serial.is_(None),
        AuditEvent.company_number == Tenant.company_number,
        user == Subscriber.user_id,
    )
    about_tenant = and_(
        AuditEvent.serial.is_(None),
        AuditEvent.company_number == Tenant.company_number,
        user.is_(None),
    )
    return exists().where(ticket, or_(about_certificate, about_subscriber, about_tenant))

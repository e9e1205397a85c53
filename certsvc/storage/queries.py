"""Read-side queries shared by the CLI and the HTTP API (lists with filters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from certsvc.domain.certificates import CertState
from certsvc.errors import InputError
from certsvc.storage.models import Certificate, Subscriber, Tenant
from certsvc.storage.search import like_escape

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class CertificateFilter:
    """What ``cert list`` and ``GET /certificates`` may filter on."""

    company_number: str | None = None
    state: CertState | None = None
    expiring_before: date | None = None
    text: str | None = None
    limit: int = 1000
    offset: int = 0


def expiring_within(today: date, days: int) -> date:
    """The first date that is *not* within ``days`` days of ``today``."""
    if days < 0:
        raise InputError("--expiring-within takes a number of days >= 0", "expiring_within")
    return today + timedelta(days=days + 1)


def list_certificates(session: Session, wanted: CertificateFilter) -> list[Certificate]:
    if not 1 <= wanted.limit <= MAX_LIMIT or wanted.offset < 0:
        raise InputError(f"limit must be 1-{MAX_LIMIT} and offset >= 0", "limit")
    query = _filtered(select(Certificate).join(Subscriber).join(Tenant), wanted)
    query = query.options(
        joinedload(Certificate.subscriber).joinedload(Subscriber.tenant),
        joinedload(Certificate.replaces),
        joinedload(Certificate.superseded_by),
    )
    query = query.order_by(Certificate.id).limit(wanted.limit).offset(wanted.offset)
    return list(session.scalars(query).unique())


def count_certificates(session: Session, wanted: CertificateFilter) -> int:
    """How many certificates match ``wanted`` (ignoring its limit and offset)."""
    matching = _filtered(select(Certificate.id).join(Subscriber).join(Tenant), wanted)
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


def _filtered(query: Select[Any], wanted: CertificateFilter) -> Select[Any]:
    if wanted.company_number is not None:
        query = query.where(Tenant.company_number == wanted.company_number)
    if wanted.state is not None:
        query = query.where(Certificate.state == wanted.state)
    if wanted.expiring_before is not None:
        query = query.where(Certificate.expiry_date < wanted.expiring_before)
    if wanted.text:
        pattern = f"%{like_escape(wanted.text)}%"  # % and _ typed are literal
        query = query.where(
            Subscriber.user_id.ilike(pattern, escape="\\")
            | Certificate.email.ilike(pattern, escape="\\")
            | Subscriber.display_name.ilike(pattern, escape="\\")
            | Certificate.serial.ilike(pattern, escape="\\")
        )
    return query

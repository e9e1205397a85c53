"""The append-only audit trail: who changed what, under which ticket, before and after.

Each change writes its event in the same transaction as the change itself, and the same
facts go to the structured log, so the database and the log never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from certsvc.logging import get_logger
from certsvc.storage.models import AuditEvent, table_of

log = get_logger("certsvc.audit")
_INSERT = insert(table_of(AuditEvent))


@dataclass(frozen=True)
class Actor:
    """Who asks for a change (``cli:root``, ``api:helpdesk-1``, ``scheduler``), and why.

    ``force`` is an operator's ``--force``: the change passes an open maintenance window
    (the operator doing the maintenance), and that is audited (``certsvc.gate``).
    """

    name: str
    ticket: str | None = None
    force: bool = False


def record(
    session: Session,
    actor: Actor,
    action: str,
    at: datetime,
    *,
    company_number: str | None = None,
    serial: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit event to the current transaction and log it."""
    event = {
        "at": at,
        "actor": actor.name,
        "action": action,
        "outcome": "ok",
        "ticket": actor.ticket,
        "company_number": company_number,
        "serial": serial,
        "before": before,
        "after": after,
    }
    session.connection().execute(_INSERT, event)
    log.info(
        action,
        actor=actor.name,
        ticket=actor.ticket,
        tenant=company_number,
        serial=serial,
        outcome="ok",
    )


def record_refusal(
    session: Session,
    actor: Actor,
    action: str,
    at: datetime,
    *,
    company_number: str | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an event whose outcome is ``refused`` (a failed sign-in, a lock)."""
    event = {
        "at": at,
        "actor": actor.name,
        "action": action,
        "outcome": "refused",
        "ticket": actor.ticket,
        "company_number": company_number,
        "serial": None,
        "before": None,
        "after": after,
    }
    session.connection().execute(_INSERT, event)
    log.info(action, actor=actor.name, tenant=company_number, outcome="refused")


@dataclass(frozen=True)
class AuditFilter:
    """What ``GET /api/v1/audit`` filters on; every set field must match."""

    company_number: str | None = None
    serials: tuple[str, ...] = field(default=())
    actor: str | None = None
    ticket: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def count(session: Session, wanted: AuditFilter) -> int:
    """How many events match ``wanted`` (ignoring its limit and offset)."""
    matching = _matching(select(AuditEvent.id), wanted).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


def _matching(statement: Select[Any], wanted: AuditFilter) -> Select[Any]:
    if wanted.company_number is not None:
        statement = statement.where(AuditEvent.company_number == wanted.company_number)
    if wanted.serials:
        statement = statement.where(AuditEvent.serial.in_(wanted.serials))
    if wanted.actor is not None:
        statement = statement.where(AuditEvent.actor == wanted.actor)
    if wanted.ticket is not None:  # case-insensitive, by prefix: "t-47" finds "T-4711"
        prefix = wanted.ticket.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(func.lower(AuditEvent.ticket).like(f"{prefix}%", escape="\\"))
    if wanted.since is not None:
        statement = statement.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(AuditEvent.at < wanted.until)
    return statement


def query(session: Session, wanted: AuditFilter) -> list[dict[str, Any]]:
    """Matching events, oldest first, as plain dicts (times in UTC ISO 8601)."""
    statement = _matching(select(AuditEvent), wanted)
    statement = statement.order_by(AuditEvent.at, AuditEvent.id)
    rows = session.scalars(statement.limit(wanted.limit).offset(wanted.offset)).all()
    return [
        {
            "at": row.at.isoformat(),
            "actor": row.actor,
            "action": row.action,
            "outcome": row.outcome,
            "ticket": row.ticket,
            "company_number": row.company_number,
            "serial": row.serial,
            "before": row.before,
            "after": row.after,
        }
        for row in rows
    ]

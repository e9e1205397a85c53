"""The append-only audit trail: who changed what, under which ticket, before and after.

Each change writes its event in the same transaction as the change itself, and the same
facts go to the structured log, so the database and the log never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from certsvc.logging import get_logger
from certsvc.models import AuditEvent, table_of

log = get_logger("certsvc.audit")
_INSERT = insert(table_of(AuditEvent))


@dataclass(frozen=True)
class Actor:
    """Who asks for a change (``cli:root``, ``api:helpdesk-1``, ``scheduler``), and why."""

    name: str
    ticket: str | None = None


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

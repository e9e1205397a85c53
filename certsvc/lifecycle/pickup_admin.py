"""The helpdesk's view of pickup links: list a tenant's, cancel one that is not used.

A link's token is a secret only the mail carries, so links are named here by their row
id. Cancelling marks the link used (it stops working at once, like a redeemed one) and
cancelled (so the listing tells the two apart); the row stays for the audit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.errors import Conflict, NotFound
from certsvc.gate import ChangeGate
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Pickup, Subscriber, Tenant


@dataclass(frozen=True)
class PickupView:
    """One link as the helpdesk sees it: for whom, for what, and whether it still works."""

    id: int
    company_number: str
    user_id: str
    action: str
    serial: str | None
    state: str  # open | used | expired | cancelled
    created_at: str
    expires_at: str
    used_at: str | None
    cancelled_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state(row: Pickup, now: Any) -> str:
    if row.cancelled_at is not None:
        return "cancelled"
    if row.used_at is not None:
        return "used"
    return "expired" if now >= row.expires_at else "open"


def _view(row: Pickup, now: Any) -> PickupView:
    serial = row.certificate.serial if row.certificate else row.predecessor_serial
    return PickupView(
        row.id,
        row.subscriber.tenant.company_number,
        row.subscriber.user_id,
        row.action,
        serial,
        _state(row, now),
        row.created_at.isoformat(),
        row.expires_at.isoformat(),
        row.used_at.isoformat() if row.used_at and not row.cancelled_at else None,
        row.cancelled_at.isoformat() if row.cancelled_at else None,
    )


def _of_tenant(company_number: str | None) -> Any:
    statement = select(Pickup).join(Subscriber).join(Tenant)
    if company_number is not None:
        statement = statement.where(Tenant.company_number == company_number)
    return statement


class PickupAdmin:
    """List and cancel pickup links (the mailed secret is never read or shown)."""

    def __init__(self, sessions: SessionFactory, clock: Clock, gate: ChangeGate) -> None:
        self.sessions = sessions
        self.clock = clock
        self.gate = gate

    def list(self, company_number: str | None, limit: int, offset: int) -> list[PickupView]:
        """Oldest first (by id), so pages are stable while new links are made."""
        now = self.clock.now()
        with self.sessions() as session:
            statement = _of_tenant(company_number).order_by(Pickup.id).limit(limit)
            rows = session.scalars(statement.offset(offset)).all()
            return [_view(row, now) for row in rows]

    def count(self, company_number: str | None) -> int:
        with self.sessions() as session:
            inner = _of_tenant(company_number).with_only_columns(Pickup.id).subquery()
            return int(session.scalar(select(func.count()).select_from(inner)) or 0)

    def company_of(self, pickup_id: int) -> str:
        """The tenant a link belongs to (for the caller's tenant check)."""
        with self.sessions() as session:
            return self._row(session, pickup_id).subscriber.tenant.company_number

    def cancel(self, pickup_id: int, by: Actor) -> PickupView:
        """Stop an unused link from working; a used, expired or cancelled one is a 409."""
        self.gate.admit(by, "pickup.cancel")
        now = self.clock.now()
        with transaction(self.sessions) as session:
            row = self._row(session, pickup_id, lock=True)
            state = _state(row, now)
            if state != "open":
                raise Conflict(f"pickup {pickup_id} is {state}: only an open link is cancelled")
            row.used_at = row.cancelled_at = now
            view = _view(row, now)
            audit.record(
                session,
                by,
                "pickup.cancel",
                now,
                company_number=view.company_number,
                serial=view.serial,
                before={"id": row.id, "user_id": view.user_id, "action": row.action},
                after={"state": "cancelled"},
            )
            return view

    @staticmethod
    def _row(session: Session, pickup_id: int, lock: bool = False) -> Pickup:
        statement = select(Pickup).where(Pickup.id == pickup_id)
        row = session.scalar(statement.with_for_update() if lock else statement)
        if row is None:
            raise NotFound("pickup", str(pickup_id))
        return row

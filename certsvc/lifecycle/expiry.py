"""The end of a certificate's life, on time: expiry past ``invalid_from``, and the
revocation of predecessors whose on-pickup grace has run out.

Functions of the parts they use; the nightly job and ``Lifecycle`` call them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.domain.certificates import CertState
from certsvc.feed.version import record_change
from certsvc.lifecycle import recording
from certsvc.lifecycle.parts import Parts
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import AuditEvent, Certificate


def expire_due(sessions: SessionFactory, clock: Clock, by: Actor) -> list[str]:
    """Mark ``expired`` every issued certificate past its ``invalid_from``; their serials."""
    now = clock.now()
    with transaction(sessions) as session:
        rows = session.scalars(
            select(Certificate).where(
                Certificate.state == CertState.ISSUED, Certificate.invalid_from <= now
            )
        ).all()
        for row in rows:
            row.state = CertState.EXPIRED
            record_change(session, "remove", row.serial or "", row.sha256 or "", now)
            audit.record(
                session,
                by,
                "certificate.expire",
                now,
                company_number=row.subscriber.tenant.company_number,
                serial=row.serial,
                before={"state": CertState.ISSUED.value},
                after={"state": CertState.EXPIRED.value},
            )
        return [row.serial or "" for row in rows]


def revoke_overdue(parts: Parts, by: Actor) -> list[str]:
    """Revoke predecessors whose on-pickup grace has run out; returns their serials."""
    now = parts.clock.now()
    with parts.sessions() as session:
        # Only the partial index on revoke_due_at: a state condition would tempt the
        # planner into walking every issued certificate.
        due = session.execute(
            select(Certificate.serial, Certificate.revoke_due_reason, Certificate.state).where(
                Certificate.revoke_due_at <= now
            )
        ).all()
    revoked: list[str] = []
    for serial, reason, state in due:
        if serial and reason and state is CertState.ISSUED:
            ticket = _successor_ticket(parts, serial)
            recording.revoke(parts, serial, reason, Actor(by.name, ticket or by.ticket))
            revoked.append(serial)
    return revoked


def _successor_ticket(parts: Parts, serial: str) -> str | None:
    """The ticket of the renewal or reissue that made the revocation due, so the deferred
    revocation is audited under the request that asked for it."""
    successor = aliased(Certificate)
    with parts.sessions() as session:
        return session.scalar(
            select(AuditEvent.ticket)
            .join(successor, AuditEvent.serial == successor.serial)
            .join(Certificate, Certificate.superseded_by_id == successor.id)
            .where(
                Certificate.serial == serial,
                AuditEvent.action.in_(("certificate.reissue", "certificate.renew")),
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )

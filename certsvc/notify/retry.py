"""Re-queueing failed messages: ``certsvc outbox retry ID|--failed`` and the admin API.

Only a message marked ``failed`` goes back to the queue, in one conditional UPDATE, so a
message that was sent (or is queued still) can never be queued a second time: nothing
goes out twice, even when two operators retry at once. Every re-queue is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.errors import Conflict, NotFound
from certsvc.gate import ChangeGate
from certsvc.notify.drain import FAILED, QUEUED
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import OutboxMessage


@dataclass(frozen=True)
class Requeued:
    """The ids of the messages put back in the queue (due at once)."""

    ids: list[int]

    def to_dict(self) -> dict[str, object]:
        return {"requeued": self.ids, "count": len(self.ids)}


class OutboxRetry:
    """Put failed messages back in the queue; the next drain sends them."""

    def __init__(self, sessions: SessionFactory, clock: Clock, gate: ChangeGate) -> None:
        self.sessions = sessions
        self.clock = clock
        self.gate = gate

    def retry(self, message_id: int, by: Actor) -> Requeued:
        """Re-queue one failed message.

        :raises NotFound: no such message.
        :raises Conflict: the message was sent, or is still queued: it is not sent twice.
        """
        self.gate.admit(by, "outbox.retry")
        with transaction(self.sessions) as session:
            ids = _requeue(session, self.clock, OutboxMessage.id == message_id)
            if not ids:
                status = session.scalar(
                    select(OutboxMessage.status).where(OutboxMessage.id == message_id)
                )
                if status is None:
                    raise NotFound("outbox message", str(message_id))
                raise Conflict(
                    f"outbox message {message_id} is {status}, not failed: only a failed "
                    "message can be re-queued (a sent one is never sent twice)"
                )
            _audit(session, by, ids, self.clock)
        return Requeued(ids)

    def retry_failed(self, by: Actor) -> Requeued:
        """Re-queue every failed message (none failed: nothing to do, not an error)."""
        self.gate.admit(by, "outbox.retry")
        with transaction(self.sessions) as session:
            ids = _requeue(session, self.clock, OutboxMessage.status == FAILED)
            if ids:
                _audit(session, by, ids, self.clock)
        return Requeued(ids)


def _requeue(session: Session, clock: Clock, *where: object) -> list[int]:
    """Failed -> queued, due now, in one UPDATE that re-checks the status."""
    now = clock.now()
    changed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == FAILED, *where)  # type: ignore[arg-type]
        .values(status=QUEUED, next_attempt_at=now, created_at=now)
        .returning(OutboxMessage.id)
    )
    return sorted(changed.scalars())


def _audit(session: Session, by: Actor, ids: list[int], clock: Clock) -> None:
    audit.record(session, by, "outbox.retry", clock.now(), after={"ids": ids})

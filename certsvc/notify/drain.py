"""Draining the outbox: hand due messages to the sender of their channel, record outcomes.

Senders are found by channel in a ``SenderRegistry`` built in ``certsvc.app``
(``"mail"`` here; a webhook sender registers ``"webhook"`` the same way), so a channel is
added without touching the drain. A message is claimed with a lease before it is handed
over (two drainers never send it at the same time; a crashed drainer's claim runs out),
marked ``sent`` (in its own transaction, at once) as soon as its sender says the far end
accepted it, so a drain killed in mid-batch sends nothing twice, retried with
exponential backoff on a temporary failure, and marked ``failed`` on a permanent one or
once it is older than ``give_up_after_hours``. Every time comes from the injected clock.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from certsvc.clock import Clock
from certsvc.config import OutboxSettings
from certsvc.logging import get_logger
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import OutboxMessage

log = get_logger("certsvc.outbox")
QUEUED, SENT, FAILED = "queued", "sent", "failed"
MAX_BATCHES = 10_000


@dataclass(frozen=True)
class OutboxItem:
    """A claimed message, detached from the database, as a sender sees it."""

    id: int
    channel: str
    kind: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str


@dataclass(frozen=True)
class Delivery:
    """A sender's verdict on one message: ``sent``, ``retry`` (temporary) or ``failed``."""

    id: int
    outcome: Literal["sent", "retry", "failed"]
    error: str | None = None


Done = Callable[[Delivery], None]
"""Records one message's outcome at once (the drain's; a sender calls it per message)."""


class Sender(Protocol):
    """Delivers a batch of messages of one channel; never raises for a single message.

    A sender calls ``done`` with each message's outcome as soon as it is known (the far
    end accepted it), so a drainer killed in mid-batch does not send it again; what it
    returns is recorded too (an outcome already given to ``done`` is not counted twice).
    """

    def deliver(self, items: Sequence[OutboxItem], done: Done) -> list[Delivery]: ...


class SenderRegistry:
    """Channel name -> sender; the drain only picks messages of registered channels."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self._senders[channel] = sender

    def channels(self) -> list[str]:
        return sorted(self._senders)

    def get(self, channel: str) -> Sender:
        return self._senders[channel]


@dataclass
class DrainReport:
    """What one drain did; ``failures`` lists permanent refusals as ``(id, recipient, error)``."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    failures: list[tuple[int, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "failures": [
                {"id": id_, "recipient": recipient, "error": error}
                for id_, recipient, error in self.failures
            ],
        }


def backoff(attempts: int, rules: OutboxSettings) -> timedelta:
    """Delay before the next try after ``attempts`` failures: 1 min, 2, 4 ... capped."""
    seconds = rules.retry_first_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, rules.retry_max_seconds))


class OutboxDrainer:
    """Sends what is due now, batch by batch, until nothing due is left."""

    def __init__(
        self, sessions: SessionFactory, clock: Clock, senders: SenderRegistry, rules: OutboxSettings
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.senders = senders
        self.rules = rules

    def drain(self) -> DrainReport:
        report = DrainReport()
        for _ in range(MAX_BATCHES):
            items = self._claim(self.clock.now())
            if not items:
                break
            self._deliver(items, report)
        log.info("outbox.drain", sent=report.sent, retried=report.retried, failed=report.failed)
        return report

    def _claim(self, now: datetime) -> list[OutboxItem]:
        """Lease a batch of due messages so no other drainer picks them meanwhile."""
        lease_until = now + timedelta(seconds=self.rules.lease_seconds)
        with transaction(self.sessions) as session:
            due = select(OutboxMessage.id).where(
                OutboxMessage.status == QUEUED,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.channel.in_(self.senders.channels()),
            )
            ids = list(
                session.scalars(
                    due.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(
                        self.rules.batch_size
                    )
                )
            )
            if not ids:
                return []
            claimed = session.scalars(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == QUEUED,
                    OutboxMessage.next_attempt_at <= now,
                )
                .values(next_attempt_at=lease_until)
                .returning(OutboxMessage.id)
            ).all()
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(claimed))
                .order_by(OutboxMessage.id)
            )
            return [_item(row) for row in rows]

    def _deliver(self, items: list[OutboxItem], report: DrainReport) -> None:
        """Hand each channel its share; every outcome is committed the moment it is known."""
        by_channel: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_channel[item.channel].append(item)
        by_id = {item.id: item for item in items}
        recorded: set[int] = set()

        def done(delivery: Delivery) -> None:
            if delivery.id in recorded or delivery.id not in by_id:
                return
            recorded.add(delivery.id)
            with transaction(self.sessions) as session:
                self._apply(session, delivery, by_id[delivery.id], self.clock.now(), report)

        for channel, batch in by_channel.items():
            try:
                for delivery in self.senders.get(channel).deliver(batch, done):
                    done(delivery)
            except Exception as exc:  # a broken sender must not lose mail
                log.error("outbox.sender_error", channel=channel, error=repr(exc))
                for item in batch:
                    done(Delivery(item.id, "retry", repr(exc)))

    def _apply(
        self,
        session: Session,
        delivery: Delivery,
        item: OutboxItem,
        now: datetime,
        report: DrainReport,
    ) -> None:
        row = session.get_one(OutboxMessage, delivery.id)
        row.attempts = item.attempts + 1
        row.last_error = delivery.error
        outcome = delivery.outcome
        if outcome == "retry" and self._too_old(row.created_at, now):
            outcome = "failed"
        if outcome == "sent":
            row.status, row.sent_at = SENT, now
            row.payload = without_secrets(row.payload)
            report.sent += 1
        elif outcome == "retry":
            row.next_attempt_at = now + backoff(row.attempts, self.rules)
            report.retried += 1
            log.warning(
                "outbox.retry",
                id=row.id,
                kind=row.kind,
                error=delivery.error,
                next_attempt_at=row.next_attempt_at.isoformat(),
            )
        else:
            row.status = FAILED
            report.failed += 1
            report.failures.append((row.id, row.recipient, delivery.error or ""))
            log.error("outbox.failed", id=row.id, kind=row.kind, error=delivery.error)

    def _too_old(self, created_at: datetime, now: datetime) -> bool:
        limit = self.rules.give_up_after_hours
        return limit > 0 and now - created_at >= timedelta(hours=limit)


SECRET_FIELDS = ("link", "renewal_link", "temporary_password", "temporary_registration_number")
"""Payload fields that only the mail may carry: a pickup or renewal link (its token is
the credential) and temporary credentials."""


def without_secrets(payload: dict[str, Any]) -> dict[str, Any]:
    """A sent message's payload with its secrets dropped, a link kept as its SHA-256 (to
    tell which link a mail carried, never to use it)."""
    kept = {key: value for key, value in payload.items() if key not in SECRET_FIELDS}
    for key in ("link", "renewal_link"):
        if isinstance(payload.get(key), str) and payload[key]:
            kept[f"{key}_sha256"] = hashlib.sha256(payload[key].encode()).hexdigest()
    return kept


def _item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        row.id,
        row.channel,
        row.kind,
        row.recipient,
        dict(row.payload),
        row.attempts,
        row.dedupe_key,
    )


def list_messages(session: Session, status: str | None, limit: int) -> list[OutboxMessage]:
    """The newest messages first, for ``certsvc outbox list``."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query))

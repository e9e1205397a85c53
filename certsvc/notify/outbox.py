"""The outbox: messages written with the change that causes them, delivered after commit.

A message is unique by its ``dedupe_key`` (certificate, kind, recipient), so queuing the
same event twice is a no-op rather than a second mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    channel: str,
    kind: str,
    dedupe_key: str,
    recipient: str,
    payload: dict[str, Any],
    at: datetime,
) -> bool:
    """Queue a message unless one with ``dedupe_key`` exists; True when queued."""
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    if exists is not None:
        return False
    session.add(
        OutboxMessage(
            channel=channel,
            kind=kind,
            dedupe_key=dedupe_key,
            recipient=recipient,
            payload=payload,
            status="queued",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )
    return True

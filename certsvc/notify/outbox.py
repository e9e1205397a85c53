"""The outbox: messages written with the change that causes them, delivered after commit.

A message is unique by its ``dedupe_key`` (certificate, kind, recipient), so queuing the
same event twice is a no-op rather than a second mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certsvc.models import OutboxMessage

_INSERTS = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(
        OutboxMessage.__table__
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for dialect in (postgresql, sqlite)
}


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
    values = {
        "channel": channel,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "recipient": recipient,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }
    connection = session.connection()
    result = connection.execute(_INSERTS[connection.dialect.name], values)
    return bool(result.rowcount)

"""The outbox: messages written with the change that causes them, delivered after commit.

A message is unique by its ``dedupe_key`` (certificate, kind, recipient), so queuing the
same event twice is a no-op rather than a second mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certsvc.storage.models import OutboxMessage, table_of

_INSERT_NEW = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(
        table_of(OutboxMessage)
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for dialect in (postgresql, sqlite)
}
_CHUNK = 500


@dataclass(frozen=True)
class NewMessage:
    """A message to queue; unique by ``dedupe_key``."""

    channel: str
    kind: str
    dedupe_key: str
    recipient: str
    payload: dict[str, Any]


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
    """Queue a message unless one with ``dedupe_key`` exists; True when queued.

    One prepared insert that skips a duplicate key: this runs in every issuance.
    """
    message = NewMessage(channel, kind, dedupe_key, recipient, payload)
    connection = session.connection()
    result = connection.execute(_INSERT_NEW[connection.dialect.name], _row(message, at))
    return bool(result.rowcount)


def enqueue_many(session: Session, messages: Sequence[NewMessage], at: datetime) -> int:
    """Queue every message whose ``dedupe_key`` is new, with one insert per chunk.

    The nightly run queues thousands of reminders; one query per message would make its
    cost grow with round trips instead of rows. Returns how many were queued.
    """
    queued = 0
    for start in range(0, len(messages), _CHUNK):
        chunk = {message.dedupe_key: message for message in messages[start : start + _CHUNK]}
        known = set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
        )
        rows = [_row(message, at) for key, message in chunk.items() if key not in known]
        if rows:
            session.execute(insert(OutboxMessage), rows)
            queued += len(rows)
    return queued


def _row(message: NewMessage, at: datetime) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "kind": message.kind,
        "dedupe_key": message.dedupe_key,
        "recipient": message.recipient,
        "payload": message.payload,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }

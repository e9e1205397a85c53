"""The feed version: every change to the set of certificates a gateway may let in.

Rows are written in the transaction of the change; the version (an auto-increment key)
only grows, so readers can ask "what changed since V" and cache by version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from certsvc.storage.models import FeedChange, table_of

_INSERT = insert(table_of(FeedChange))


def record_change(session: Session, op: str, serial: str, sha256: str, at: datetime) -> None:
    """Record that a certificate was added to (``add``) or removed from (``remove``) the feed."""
    session.connection().execute(_INSERT, {"op": op, "serial": serial, "sha256": sha256, "at": at})


def current_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(FeedChange.version), 0))) or 0

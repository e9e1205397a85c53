"""The feed version: every change to the set of certificates a gateway may let in.

Rows are written in the transaction of the change; the version (an auto-increment key)
only grows, so readers can ask "what changed since V" and cache by version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certsvc.models import Certificate, FeedChange


def record_change(session: Session, op: str, certificate: Certificate, at: datetime) -> None:
    """Record that ``certificate`` was added to (``add``) or removed from (``remove``) the feed."""
    if certificate.serial is None or certificate.sha256 is None:
        raise ValueError("only issued certificates enter the gateway feed")
    session.add(FeedChange(op=op, serial=certificate.serial, sha256=certificate.sha256, at=at))


def current_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(FeedChange.version), 0))) or 0

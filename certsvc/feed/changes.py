"""The feed change log as gateways read it: deltas since a version, and its trimming.

The log is kept ``[gateway] changes_keep_days`` (default 30): long enough for a gateway
agent that was down for weeks to catch up by delta. Trimming records the last version
removed in ``feed_prunes``; a ``since`` older than that is answered 410 Gone and the
client fetches the whole allowlist again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.storage.models import Certificate, FeedChange, FeedPrune

MAX_CHANGES = 10_000


@dataclass(frozen=True)
class Change:
    """One add or remove, with the SHA-1 nginx's map keys on (null if never issued)."""

    version: int
    op: str
    serial: str
    sha256: str
    sha1: str | None


@dataclass(frozen=True)
class Delta:
    """``changes`` in ``(since, version]``; ``more`` when the page was cut at ``limit``.

    ``lapsed`` lists certificates past ``invalid_from`` whose removal the nightly run has
    not logged yet: a gateway drops them too, since they may no longer log in.
    """

    since: int
    version: int
    more: bool
    changes: list[Change]
    lapsed: list[Change]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def horizon(session: Session) -> int:
    """Versions at or below this were trimmed from the log."""
    return session.scalar(select(func.coalesce(func.max(FeedPrune.through_version), 0))) or 0


def delta(session: Session, since: int, upto: int, now: datetime, limit: int) -> Delta | None:
    """The changes after ``since`` up to ``upto``; None when the log no longer reaches back."""
    if since < horizon(session) or since > upto:
        return None
    rows = session.execute(
        select(FeedChange.version, FeedChange.op, FeedChange.serial, FeedChange.sha256)
        .add_columns(Certificate.sha1)
        .outerjoin(Certificate, Certificate.sha256 == FeedChange.sha256)
        .where(FeedChange.version > since, FeedChange.version <= upto)
        .order_by(FeedChange.version)
        .limit(limit + 1)
    ).all()
    changes = [Change(*row) for row in rows[:limit]]
    more = len(rows) > limit
    version = changes[-1].version if more else upto
    lapsed = session.execute(
        select(Certificate.serial, Certificate.sha256, Certificate.sha1).where(
            Certificate.state == CertState.ISSUED,
            or_(Certificate.invalid_from <= now, Certificate.revoke_due_at <= now),
        )
    ).all()
    gone = [
        Change(upto, "remove", serial or "", sha256 or "", sha1) for serial, sha256, sha1 in lapsed
    ]
    return Delta(since, version, more, changes, gone)


def prune(session: Session, now: datetime, keep: timedelta) -> int:
    """Trim log rows older than ``keep``; returns the version trimmed through (0: none)."""
    through = session.scalar(select(func.max(FeedChange.version)).where(FeedChange.at < now - keep))
    if through is None:
        return 0
    session.execute(delete(FeedChange).where(FeedChange.version <= through))
    session.add(FeedPrune(through_version=through, at=now))
    return int(through)

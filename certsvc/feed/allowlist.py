"""The allowlist in memory: which certificates may log in, looked up in a dict.

Loaded once from the database, then kept current from the feed change log: each poll
reads the rows past the last version seen and re-reads those certificates' current
state (idempotent, so the order in which rows arrive does not matter). On PostgreSQL a
version can become visible after a higher one (sequence values are taken before commit),
so a missing version is re-read for ``GAP_GRACE_SECONDS`` before it is taken for a
rolled-back transaction; the version this instance announces never passes such a gap.

Time is checked at lookup: an entry past ``invalid_from`` is refused by the injected
clock even when the nightly run that marks it expired never happened.
"""

from __future__ import annotations

import bisect
import functools
import gc
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial, parse_serial
from certsvc.storage.models import Certificate, FeedChange

GAP_GRACE_SECONDS = 10.0
MAX_GAP_SPAN = 10_000
LOOKUP_BATCH = 500
LOAD_BATCH = 20_000
RELOAD_OVER = 50_000
"""More changed certificates than this in one poll: reload everything instead."""

COLUMNS = (
    Certificate.serial,
    Certificate.sha1,
    Certificate.sha256,
    Certificate.issuer,
    Certificate.subject,
    Certificate.not_after,
    Certificate.invalid_from,
    Certificate.revoke_due_at,
)


class Entry(NamedTuple):
    """One certificate a gateway may let in until ``invalid_from`` (Unix seconds): the
    midnight after its expiry date, or the instant an on-pickup revocation falls due
    (``revoke_due_at``) when that comes first, whether or not a job has run by then.

    A tuple of strings and a float: the garbage collector stops tracking it, which keeps
    collector pauses off the check path with a million entries in memory.
    """

    serial: str
    sha1: str
    sha256: str
    issuer: str
    subject: str
    not_after: datetime
    invalid_from: float

    @property
    def serial_key(self) -> str:
        """Stored serials are already in gateway form: no parsing for a million rows."""
        return f"{self.serial}/{normalise_dn(self.issuer)}"


@functools.lru_cache(maxsize=256)
def normalise_dn(text: str) -> str:
    """``CN=a, O=b`` and ``cn=a,o=b`` name the same issuer for a lookup."""
    return ",".join(part.strip() for part in text.split(",")).casefold()


def serial_key(serial: str, issuer: str) -> str:
    """The lookup key of a serial and issuer as a gateway sends them (InputError if bad)."""
    return f"{format_serial(parse_serial(serial))}/{normalise_dn(issuer)}"


_Text = str | None
_Time = datetime | None
_Row = Row[_Text, _Text, _Text, _Text, _Text, _Time, _Time, _Time]


def _entry(row: _Row) -> Entry | None:
    serial, sha1, sha256, issuer, subject, not_after, invalid_from, revoke_due_at = row
    if not (serial and sha1 and sha256 and invalid_from and not_after):
        return None
    until = min(invalid_from, revoke_due_at) if revoke_due_at else invalid_from
    return Entry(serial, sha1, sha256, issuer or "", subject or "", not_after, until.timestamp())


class AllowlistIndex:
    """Certificates by SHA-256, SHA-1 and (serial, issuer); ``version`` never goes back."""

    def __init__(self) -> None:
        self.by_sha256: dict[str, Entry] = {}
        self.by_sha1: dict[str, Entry] = {}
        self.by_serial: dict[str, Entry] = {}
        self._deadlines: list[float] = []
        self.version = 0
        self.loaded = False
        self._seen = 0
        self._gaps: dict[int, float] = {}
        self._lock = threading.Lock()

    # -- lookups (event loop, no locks: single dict reads) -------------------------------

    def allowed(self, entry: Entry | None, now: float) -> bool:
        return entry is not None and now < entry.invalid_from

    def snapshot(self, now: float) -> tuple[int, int, list[Entry]]:
        """(version, lapsed, entries valid at ``now``) taken together, entries by SHA-256."""
        with self._lock:
            entries = [entry for entry in self.by_sha256.values() if now < entry.invalid_from]
            version, lapsed = self.version, self.lapsed(now)
        entries.sort(key=lambda entry: entry.sha256)
        return version, lapsed, entries

    def lapsed(self, now: float) -> int:
        """How many entries passed ``invalid_from`` by ``now`` (part of the allowlist ETag)."""
        return bisect.bisect_right(self._deadlines, now)

    # -- keeping current (worker thread) -----------------------------------------------

    def load(self, session: Session) -> None:
        """Read every issued certificate; the version is read first, so nothing is missed."""
        with self._lock:
            self._load(session)

    def follow(self, session: Session) -> list[int]:
        """Apply the feed rows past what was seen; returns the versions applied."""
        with self._lock:
            if not self.loaded:
                self._load(session)
                return []
            floor = min(self._gaps) - 1 if self._gaps else self._seen
            rows = session.execute(
                select(FeedChange.version, FeedChange.sha256)
                .where(FeedChange.version > floor)
                .order_by(FeedChange.version)
            ).all()
            versions = [version for version, _ in rows]
            changed = {sha256 for _, sha256 in rows}
            if len(changed) > RELOAD_OVER:
                self._load(session)
            else:
                self._refresh(session, changed)
                self._settle(floor, versions)
            return versions

    def _load(self, session: Session) -> None:
        version = _max_version(session)
        self._clear()
        query = select(*COLUMNS).where(Certificate.state == CertState.ISSUED)
        collecting = gc.isenabled()
        gc.disable()  # nothing here makes cycles; collections over a growing heap only cost
        try:
            for row in session.execute(query.execution_options(yield_per=LOAD_BATCH)):
                entry = _entry(row)
                if entry is not None:
                    self._put(entry, ordered=False)
        finally:
            if collecting:
                gc.enable()
        self._deadlines.sort()
        gc.collect()
        gc.freeze()  # a million long-lived entries: keep them out of every later collection
        self._seen = version
        self._gaps.clear()
        self.version = max(self.version, version)
        self.loaded = True

    def _refresh(self, session: Session, changed: Iterable[str]) -> None:
        pending = list(changed)
        for start in range(0, len(pending), LOOKUP_BATCH):
            batch = pending[start : start + LOOKUP_BATCH]
            for sha256 in batch:
                self._drop(sha256)
            rows = session.execute(
                select(*COLUMNS).where(
                    Certificate.sha256.in_(batch), Certificate.state == CertState.ISSUED
                )
            )
            for row in rows:
                entry = _entry(row)
                if entry is not None:
                    self._put(entry)

    def _settle(self, floor: int, versions: list[int]) -> None:
        """Track versions not (yet) visible; announce only what is known to be complete."""
        now = time.monotonic()
        top = max([self._seen, *versions])
        if top - floor <= MAX_GAP_SPAN:
            present = set(versions)
            for version in range(floor + 1, top + 1):
                if version in present:
                    self._gaps.pop(version, None)
                else:
                    self._gaps.setdefault(version, now)
        self._gaps = {v: t for v, t in self._gaps.items() if now - t < GAP_GRACE_SECONDS}
        self._seen = top
        settled = min(self._gaps) - 1 if self._gaps else top
        self.version = max(self.version, settled)

    def _clear(self) -> None:
        self.by_sha256, self.by_sha1, self.by_serial = {}, {}, {}
        self._deadlines = []

    def _put(self, entry: Entry, ordered: bool = True) -> None:
        if ordered:
            self._drop(entry.sha256)
        self.by_sha256[entry.sha256] = entry
        self.by_sha1[entry.sha1] = entry
        self.by_serial[entry.serial_key] = entry
        if ordered:
            bisect.insort(self._deadlines, entry.invalid_from)
        else:
            self._deadlines.append(entry.invalid_from)

    def _drop(self, sha256: str) -> None:
        entry = self.by_sha256.pop(sha256, None)
        if entry is None:
            return
        self.by_sha1.pop(entry.sha1, None)
        self.by_serial.pop(entry.serial_key, None)
        index = bisect.bisect_left(self._deadlines, entry.invalid_from)
        if index < len(self._deadlines) and self._deadlines[index] == entry.invalid_from:
            del self._deadlines[index]


def _max_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(FeedChange.version), 0))) or 0

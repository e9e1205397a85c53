"""The allowlist in memory: which certificates may log in, in compact sorted arrays.

Loaded once from the database with one raw query (:mod:`certsvc.feed.allowlist_rows`)
into an immutable :class:`~certsvc.feed.compact.Base`, then kept current from the feed
change log: each poll reads the rows past the last version seen and re-reads those
certificates' current state (idempotent, so the order in which rows arrive does not
matter). A changed certificate marks its base row dead and, while issued, lives in small
dicts beside the base; past ``COMPACT_OVER`` of those the base is rebuilt. On PostgreSQL
a version can become visible after a higher one (sequence values are taken before
commit), so a missing version is re-read for ``GAP_GRACE_SECONDS`` before it is taken
for a rolled-back transaction; the version this instance announces never passes a gap.

Time is checked at lookup: an entry past ``invalid_from`` is refused by the injected
clock even when the nightly run that marks it expired never happened.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial, parse_serial
from certsvc.feed.allowlist_rows import Loaded, read_all
from certsvc.feed.compact import Base, Record
from certsvc.storage.models import Certificate, FeedChange

GAP_GRACE_SECONDS = 10.0
MAX_GAP_SPAN = 10_000
LOOKUP_BATCH = 500
RELOAD_OVER = 50_000
"""More changed certificates than this in one poll: reload everything instead."""
COMPACT_OVER = 20_000
"""More certificates changed since the load than this: rebuild the base (a reload)."""

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

    Made on demand from the arrays (a lookup, an export); only changed certificates are
    held as entries.
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


def entry_of(record: Record) -> Entry:
    return Entry(
        record.serial,
        record.sha1,
        record.sha256,
        record.issuer,
        record.subject,
        record.not_after,
        record.invalid_from_us / 1_000_000,
    )


_Text = str | None
_Time = datetime | None
_Row = Row[_Text, _Text, _Text, _Text, _Text, _Time, _Time, _Time]


def _entry(row: _Row) -> Entry | None:
    serial, sha1, sha256, issuer, subject, not_after, invalid_from, revoke_due_at = row
    if not (serial and sha1 and sha256 and invalid_from and not_after):
        return None
    until = min(invalid_from, revoke_due_at) if revoke_due_at else invalid_from
    return Entry(serial, sha1, sha256, issuer or "", subject or "", not_after, until.timestamp())


def micros(now: float) -> int:
    """Unix seconds as the integer microseconds the arrays hold."""
    return round(now * 1_000_000)


@dataclass(frozen=True)
class State:
    """What lookups read, swapped as a whole on reload: the base, its dead rows, and the
    entries of certificates changed since (by SHA-256). ``issuers`` maps a normalised
    issuer to its ids in the base."""

    base: Base
    dead: set[int]
    extra: dict[str, Entry]
    extra_sha1: dict[str, Entry]
    extra_serial: dict[str, Entry]
    issuers: dict[str, list[int]]


def _state(loaded: Loaded) -> State:
    names = sorted(loaded.issuers, key=loaded.issuers.__getitem__)
    base = Base(loaded.parts, names)
    issuers: dict[str, list[int]] = {}
    for name, number in loaded.issuers.items():
        issuers.setdefault(normalise_dn(name), []).append(number)
    state = State(base, set(), {}, {}, {}, issuers)
    for record in loaded.odd:
        entry = entry_of(record)
        state.extra[entry.sha256] = entry
        state.extra_sha1[entry.sha1] = entry
        state.extra_serial[entry.serial_key] = entry
    return state


def _row_of(state: State, kind: str, key: str) -> int:
    """The live-or-dead base row of a key, or -1 (malformed keys are simply not found)."""
    try:
        if kind == "serial":
            serial, _, issuer = key.partition("/")
            for number in state.issuers.get(issuer, []):
                row = state.base.row_of_serial(bytes.fromhex(serial), number)
                if row >= 0:
                    return row
            return -1
        raw = bytes.fromhex(key)
    except ValueError:
        return -1
    if kind == "sha256":
        return state.base.row_of_sha256(raw) if len(raw) == 32 else -1
    return state.base.row_of_sha1(raw) if len(raw) == 20 else -1


class Keys(Mapping[str, Entry]):
    """A read-only view of the index by one key (``sha256``, ``sha1`` or ``serial``)."""

    def __init__(self, index: AllowlistIndex, kind: str) -> None:
        self._index = index
        self._kind = kind

    def _extra(self, state: State) -> dict[str, Entry]:
        return {"sha256": state.extra, "sha1": state.extra_sha1}.get(self._kind, state.extra_serial)

    def __getitem__(self, key: str) -> Entry:
        state = self._index.state
        found = self._extra(state).get(key)
        if found is not None:
            return found
        row = _row_of(state, self._kind, key)
        if row < 0 or row in state.dead:
            raise KeyError(key)
        return entry_of(state.base.record(row))

    def __iter__(self) -> Iterator[str]:
        state = self._index.state
        yield from list(self._extra(state))
        for row in range(len(state.base)):
            if row not in state.dead:
                entry = entry_of(state.base.record(row))
                yield {"sha256": entry.sha256, "sha1": entry.sha1}.get(self._kind, entry.serial_key)

    def __len__(self) -> int:
        state = self._index.state
        return len(state.base) - len(state.dead) + len(self._extra(state))


class AllowlistIndex:
    """Certificates by SHA-256, SHA-1 and (serial, issuer); ``version`` never goes back."""

    def __init__(self) -> None:
        self.state = _state(Loaded())
        self.by_sha256 = Keys(self, "sha256")
        self.by_sha1 = Keys(self, "sha1")
        self.by_serial = Keys(self, "serial")
        self.version = 0
        self.loaded = False
        self._seen = 0
        self._gaps: dict[int, float] = {}
        self._lock = threading.Lock()
        self._lapse_cache: tuple[State, int, int, int, int] | None = None
        self._edits = 0

    # -- lookups (event loop, no locks: the state is swapped whole) --------------------

    def allowed(self, entry: Entry | None, now: float) -> bool:
        return entry is not None and now < entry.invalid_from

    def snapshot(self, now: float) -> tuple[int, int, list[Entry]]:
        """(version, lapsed, entries valid at ``now``) taken together, entries by SHA-256."""
        with self._lock:
            version, lapsed, state = self.version, self.lapsed(now), self.state
            extra = list(state.extra.values())
            dead = set(state.dead)
        cut = micros(now)
        rows = np.nonzero(state.base.invalid_from > cut)[0]
        entries = [entry_of(state.base.record(row)) for row in rows.tolist() if row not in dead]
        entries += [entry for entry in extra if now < entry.invalid_from]
        entries.sort(key=lambda entry: entry.sha256)
        return version, lapsed, entries

    def lapsed(self, now: float) -> int:
        """How many entries passed ``invalid_from`` by ``now`` (part of the allowlist ETag).

        Counting the base is a pass over a million integers, so the count is kept until
        the next deadline or the next change.
        """
        state, cut = self.state, micros(now)
        cached = self._lapse_cache
        changes = self._edits
        if cached and cached[0] is state and cached[1] == changes and cached[2] <= cut < cached[3]:
            return cached[4]
        deadlines = state.base.invalid_from
        live = np.ones(len(deadlines), dtype=bool)
        live[list(state.dead)] = False
        passed = deadlines <= cut
        count = int(np.count_nonzero(passed & live))
        later = deadlines[~passed]
        upcoming = int(later.min()) if len(later) else 1 << 62
        count += sum(1 for entry in state.extra.values() if entry.invalid_from <= now)
        extra_later = [micros(e.invalid_from) for e in state.extra.values() if e.invalid_from > now]
        upcoming = min([upcoming, *extra_later])
        self._lapse_cache = (state, changes, cut, upcoming, count)
        return count

    @property
    def nbytes(self) -> int:
        """The memory held by the base arrays (not counting changed entries)."""
        return self.state.base.nbytes

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
            if len(changed) > RELOAD_OVER or self._changed_count() > COMPACT_OVER:
                self._load(session)
            else:
                self._refresh(session, changed)
                self._settle(floor, versions)
            return versions

    def _changed_count(self) -> int:
        return len(self.state.dead) + len(self.state.extra)

    def _load(self, session: Session) -> None:
        version = _max_version(session)
        self.state = _state(read_all(session))  # built aside, swapped whole
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

    def _put(self, entry: Entry) -> None:
        state = self.state
        self._edits += 1
        self._drop(entry.sha256)
        state.extra[entry.sha256] = entry
        state.extra_sha1[entry.sha1] = entry
        state.extra_serial[entry.serial_key] = entry

    def _drop(self, sha256: str) -> None:
        state = self.state
        self._edits += 1
        entry = state.extra.pop(sha256, None)
        if entry is not None:
            state.extra_sha1.pop(entry.sha1, None)
            state.extra_serial.pop(entry.serial_key, None)
        row = _row_of(state, "sha256", sha256)
        if row >= 0:
            state.dead.add(row)


def _max_version(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(FeedChange.version), 0))) or 0

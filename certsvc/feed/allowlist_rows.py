"""Every issued certificate, read with one raw query straight into the compact index.

No ORM types: times come back as integers (microseconds since the epoch, computed by the
database), the earlier of ``invalid_from`` and ``revoke_due_at`` already chosen in SQL,
and each batch of rows is turned into arrays at once, so a million rows load in about
the time the driver needs to fetch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from certsvc.domain.certificates import CertState
from certsvc.feed.compact import Columns, Record, serial_fits

LOAD_BATCH = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = {
    "sqlite": (
        "(CAST(strftime('%s', {c}) AS INTEGER) * 1000000 + CAST(substr({c}, 21, 6) AS INTEGER))"
    ),
    "postgresql": "CAST(EXTRACT(EPOCH FROM {c}) * 1000000 AS BIGINT)",
}
_QUERY = """
SELECT serial, sha1, sha256, COALESCE(issuer, ''), COALESCE(subject, ''), {not_after},
       CASE WHEN revoke_due_at IS NOT NULL AND revoke_due_at < invalid_from
            THEN {due} ELSE {invalid} END
FROM certificates
WHERE state = :state AND serial IS NOT NULL AND sha1 IS NOT NULL AND sha256 IS NOT NULL
  AND not_after IS NOT NULL AND invalid_from IS NOT NULL
"""
"""The selection of ``state = issued`` rows that can be entries at all (as before)."""

_Row = tuple[str, str, str, str, str, int, int]


def query_for(dialect: str) -> str:
    micros = _MICROS.get(dialect)
    if micros is None:
        raise ValueError(f"no allowlist query for database {dialect!r}")
    return _QUERY.format(
        not_after=micros.format(c="not_after"),
        due=micros.format(c="revoke_due_at"),
        invalid=micros.format(c="invalid_from"),
    )


def moment(micros: int) -> datetime:
    """An aware UTC datetime from microseconds since the epoch (exact, no float)."""
    return _EPOCH + timedelta(microseconds=micros)


@dataclass
class Loaded:
    """What one load read: regular rows as column batches, the rest as records."""

    parts: list[Columns] = field(default_factory=list)
    odd: list[Record] = field(default_factory=list)
    issuers: dict[str, int] = field(default_factory=dict)

    def issuer_id(self, issuer: str) -> int:
        return self.issuers.setdefault(issuer, len(self.issuers))

    def add_batch(self, rows: Sequence[_Row]) -> None:
        if not rows:
            return
        serials, sha1s, sha256s, issuers, subjects, not_after, until = zip(*rows, strict=True)
        regular = (
            all(map(serial_fits, serials))
            and all(len(value) == 40 for value in sha1s)
            and all(len(value) == 64 for value in sha256s)
            and len(self.issuers) < 1 << 16
        )
        if not regular or not _lower_hex(sha1s) or not _lower_hex(sha256s):
            self._split(rows)
            return
        self.parts.append(
            Columns(
                serials,
                sha1s,
                sha256s,
                [self.issuer_id(issuer) for issuer in issuers],
                subjects,
                not_after,
                until,
            )
        )

    def _split(self, rows: Sequence[_Row]) -> None:
        """A batch with irregular rows: row by row (rare: hand-edited or legacy data)."""
        regular: list[_Row] = []
        for row in rows:
            serial, sha1, sha256, issuer, subject, not_after, until = row
            if not (serial and sha1 and sha256):
                continue
            fits = serial_fits(serial)
            fits = fits and len(self.issuers) < (1 << 16) - 1
            if fits and _lower_hex([sha1]) and _lower_hex([sha256]):
                if len(sha1) == 40 and len(sha256) == 64:
                    regular.append(row)
                    continue
            self.odd.append(Record(serial, sha1, sha256, issuer, subject, moment(not_after), until))
        if regular:
            self.add_batch(regular)


def _lower_hex(values: Sequence[str]) -> bool:
    joined = "".join(values)
    try:
        return bytes.fromhex(joined).hex() == joined
    except ValueError:
        return False


def read_all(session: Session) -> Loaded:
    """Every issued certificate, in batches of ``LOAD_BATCH`` rows."""
    loaded = Loaded()
    dialect = session.get_bind().dialect.name
    result = session.execute(text(query_for(dialect)), {"state": CertState.ISSUED.value})
    while batch := result.fetchmany(LOAD_BATCH):
        rows: Any = batch
        loaded.add_batch(rows)
    return loaded

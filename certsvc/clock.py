"""Injected time: domain code asks a ``Clock`` instead of calling ``datetime.now()``.

Tests and ``--now`` options replace the clock, so every date rule (the day after the
expiry date, reminders, lockouts, the maintenance window) is checked without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Source of the current instant, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and ``--now``."""

    def __init__(self, instant: datetime) -> None:
        self._instant = require_aware(instant)

    def now(self) -> datetime:
        return self._instant

    def set(self, instant: datetime) -> None:
        self._instant = require_aware(instant)

    def advance(self, delta: timedelta) -> None:
        self._instant += delta


class Timer(Protocol):
    """Elapsed time and waiting, for deadlines and backoff (not domain time).

    Kept apart from ``Clock`` so tests can make every backoff instant while the domain
    clock stands still; production uses ``SystemTimer``.
    """

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTimer:
    """The process's monotonic clock and real sleeping."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def require_aware(instant: datetime) -> datetime:
    """Refuse naive datetimes: their zone is a guess, and guesses move expiry dates."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime refused (give an offset): {instant.isoformat()}")
    return instant.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant with an offset (``2026-11-26T09:00+09:00``, ``...Z``)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 instant: {text!r}") from exc
    return require_aware(parsed)


def local_text(instant: datetime, zone: tzinfo) -> str:
    """An instant as a person writes it in the business zone: ``2026-11-29 08:00 JST``.

    Seconds only when they are not zero, never microseconds or a numeric UTC offset; for
    mails, pages and error messages (machine fields keep ISO 8601).
    """
    local = require_aware(instant).astimezone(zone)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")
    return f"{shown} {local.tzname() or ''}".rstrip()

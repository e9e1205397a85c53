"""Business days: which calendar days the helpdesk works, and the next one it does.

The helpdesk works on its weekdays (default Tuesday and Thursday) that are business
days: not a public holiday of the configured country (Japan by default, from the
``holidays`` package) and not one of the operator's extra closed dates (year-end, a
company holiday). Pure functions of a date; the caller turns an instant into the
business date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import holidays

from certsvc.config import WEEKDAYS
from certsvc.errors import ConfigError

LOOKAHEAD_DAYS = 366


@dataclass(frozen=True)
class Closure:
    """Why a day is closed: a weekday off, a public holiday (named) or a closed date."""

    day: date
    reason: str


class BusinessCalendar:
    """Public holidays of one country plus extra closed dates."""

    def __init__(self, country: str, closed_dates: Iterable[date] = ()) -> None:
        self.country = country
        self.closed = frozenset(closed_dates)
        try:
            self._holidays = holidays.country_holidays(country) if country else None
        except NotImplementedError as exc:
            raise ConfigError(f"config key business.holiday_country: unknown {country!r}") from exc

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name, ``closed date`` for an extra one, else None."""
        if day in self.closed:
            return "closed date"
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def closure(self, day: date, weekdays: tuple[str, ...]) -> Closure | None:
        """Why ``day`` is not one of the working ``weekdays``; None when it is one."""
        weekday = WEEKDAYS[day.weekday()]
        if weekday not in weekdays:
            return Closure(day, f"{day.isoformat()} is a {weekday.capitalize()}")
        name = self.holiday_name(day)
        if name is not None:
            return Closure(day, f"{day.isoformat()} is a public holiday ({name})")
        return None

    def next_open(self, after: date, weekdays: tuple[str, ...]) -> date | None:
        """The first working day after ``after``; None when none falls within a year."""
        for offset in range(1, LOOKAHEAD_DAYS + 1):
            day = after + timedelta(days=offset)
            if self.closure(day, weekdays) is None:
                return day
        return None

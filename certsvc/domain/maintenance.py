"""The monthly maintenance window: when changes are refused and scheduled work waits.

The rule comes from configuration (default: the last Saturday of each month, 19:00 to
08:00 the next morning, business time zone). Everything here is a pure function of an
instant, so the API guard, the scheduler and ``certsvc maintenance next`` agree, and
tests need no clock at all. Windows are computed in the business zone and returned as
aware datetimes in that zone; a window spanning a DST change keeps its wall-clock ends.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from certsvc.clock import local_text, require_aware
from certsvc.config import OCCURRENCES, WEEKDAYS, MaintenanceSettings
from certsvc.errors import MaintenanceWindow


@dataclass(frozen=True)
class Window:
    """One maintenance window, ``starts_at`` inclusive, ``ends_at`` exclusive."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at

    def to_dict(self) -> dict[str, str]:
        return {"starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat()}


class MaintenanceCalendar:
    """Answers "is the window open at this instant?" and "when are the next windows?"."""

    def __init__(self, rules: MaintenanceSettings, zone: ZoneInfo) -> None:
        self.rules = rules
        self.zone = zone

    def window_at(self, instant: datetime) -> Window | None:
        """The window open at ``instant`` (aware), or None."""
        instant = require_aware(instant)
        for window in self._windows_from(_month_before(instant.astimezone(self.zone).date())):
            if window.contains(instant):
                return window
            if window.starts_at > instant:
                return None
        return None  # pragma: no cover - the generator never ends

    def next_windows(self, after: datetime, count: int = 3) -> list[Window]:
        """The ``count`` windows that end after ``after``; the open one first, if any."""
        after = require_aware(after)
        if not self.rules.enabled or count <= 0:
            return []
        found: list[Window] = []
        for window in self._windows_from(_month_before(after.astimezone(self.zone).date())):
            if window.ends_at > after:
                found.append(window)
            if len(found) == count:
                return found
        return found  # pragma: no cover - the generator never ends

    def guard(self, instant: datetime) -> None:
        """Refuse a changing request while a window is open.

        :raises MaintenanceWindow: with ``ends_at`` in UTC (HTTP Retry-After is in GMT) and
            its message naming the end in the business zone (``2026-11-29 08:00 JST``).
        """
        window = self.window_at(instant)
        if window is not None:
            ends_at = window.ends_at.astimezone(UTC)
            raise MaintenanceWindow(ends_at, local_text(ends_at, self.zone))

    def defer(self, instant: datetime) -> datetime:
        """When scheduled work due at ``instant`` may run: the window's end if it is open."""
        window = self.window_at(instant)
        return window.ends_at if window is not None else require_aware(instant)

    def window_in_month(self, year: int, month: int) -> Window:
        """The window of one calendar month under the configured rule."""
        day = _nth_weekday(
            year,
            month,
            WEEKDAYS.index(self.rules.weekday),
            OCCURRENCES.index(self.rules.occurrence),
        )
        start = _clock_time(self.rules.start)
        end = _clock_time(self.rules.end)
        end_day = day + timedelta(days=1) if end <= start else day
        return Window(
            datetime.combine(day, start, tzinfo=self.zone),
            datetime.combine(end_day, end, tzinfo=self.zone),
        )

    def _windows_from(self, first_month: date) -> Iterator[Window]:
        if not self.rules.enabled:
            return
        year, month = first_month.year, first_month.month
        while True:
            yield self.window_in_month(year, month)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _month_before(day: date) -> date:
    """A window opened late last month may still be open early this month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _nth_weekday(year: int, month: int, weekday: int, occurrence: int) -> date:
    """The ``occurrence``-th (0-based; 4 = last) ``weekday`` of a month."""
    days = [
        date(year, month, number)
        for number in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, number).weekday() == weekday
    ]
    return days[-1] if occurrence == len(OCCURRENCES) - 1 else days[occurrence]


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))

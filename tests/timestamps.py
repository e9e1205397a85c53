"""Named instants for tests (JST business zone), so no test sprinkles literals."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

issued = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
"""A certificate issued on a Thursday morning; it expires on 2028-11-26."""

expiry_date = issued.date().replace(year=2028)
expiry_evening = datetime(2028, 11, 26, 23, 59, 59, tzinfo=JST)
"""The last second the certificate is valid."""

day_after = datetime(2028, 11, 27, 0, 0, tzinfo=JST)
"""The midnight after the expiry date: from now on, no entry."""

reminder_30 = day_after - timedelta(days=31)
leap_day = datetime(2028, 2, 29, 12, 0, tzinfo=JST)
utc_late_evening = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
"""20:00 UTC is already 05:00 the next day in Tokyo."""

maintenance_opens = datetime(2026, 11, 28, 19, 0, tzinfo=JST)
"""The last Saturday of November 2026, 19:00: the maintenance window opens."""

maintenance_closes = datetime(2026, 11, 29, 8, 0, tzinfo=JST)
"""Sunday 08:00: the window closes."""

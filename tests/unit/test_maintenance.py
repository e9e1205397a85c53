"""The maintenance window: last Saturday of the month, 19:00 to 08:00, business time."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from certsvc.cli.main import main
from certsvc.config import MaintenanceSettings
from certsvc.domain.maintenance import MaintenanceCalendar, Window
from certsvc.errors import MaintenanceWindow
from tests.timestamps import JST, maintenance_closes, maintenance_opens

SECOND = timedelta(seconds=1)


@pytest.fixture
def calendar() -> MaintenanceCalendar:
    return MaintenanceCalendar(MaintenanceSettings(), JST)


def test_window_is_open_from_saturday_evening_to_sunday_morning(calendar):
    assert calendar.window_at(maintenance_opens - SECOND) is None
    assert calendar.window_at(maintenance_opens) == Window(maintenance_opens, maintenance_closes)
    assert calendar.window_at(maintenance_closes - SECOND) is not None
    assert calendar.window_at(maintenance_closes) is None


def test_window_is_found_from_an_instant_given_in_utc(calendar):
    sunday_early_utc = datetime(2026, 11, 28, 20, 30, tzinfo=UTC)  # 05:30 Sunday in Tokyo
    window = calendar.window_at(sunday_early_utc)
    assert window is not None
    assert window.ends_at == maintenance_closes


def test_window_opened_last_month_is_still_open_on_the_first(calendar):
    # The last Saturday of January 2027 is the 30th; in May 2026 it is the 30th, and a
    # window of 31 October 2026 (Saturday) runs into 1 November.
    first_of_november = datetime(2026, 11, 1, 7, 59, tzinfo=JST)
    window = calendar.window_at(first_of_november)
    assert window is not None
    assert window.starts_at == datetime(2026, 10, 31, 19, 0, tzinfo=JST)


def test_next_windows_lists_the_open_one_first_then_one_per_month(calendar):
    windows = calendar.next_windows(maintenance_opens + timedelta(hours=1), 3)
    assert [w.starts_at.date().isoformat() for w in windows] == [
        "2026-11-28",
        "2026-12-26",
        "2027-01-30",
    ]
    assert all(w.ends_at - w.starts_at == timedelta(hours=13) for w in windows)


def test_guard_refuses_changes_with_the_end_of_the_window(calendar):
    with pytest.raises(MaintenanceWindow) as raised:
        calendar.guard(maintenance_opens + timedelta(hours=2))
    assert raised.value.ends_at == maintenance_closes
    assert raised.value.ends_at.tzinfo == UTC
    calendar.guard(maintenance_closes)  # open for business again


def test_defer_moves_work_to_the_end_of_the_window(calendar):
    assert calendar.defer(maintenance_opens) == maintenance_closes
    outside = maintenance_opens - SECOND
    assert calendar.defer(outside) == outside


def test_rule_is_configurable_and_can_be_disabled():
    rules = MaintenanceSettings(weekday="sunday", occurrence="first", start="02:00", end="04:00")
    calendar = MaintenanceCalendar(rules, ZoneInfo("UTC"))
    (window,) = calendar.next_windows(datetime(2027, 3, 1, tzinfo=UTC), 1)
    assert window.starts_at == datetime(2027, 3, 7, 2, 0, tzinfo=ZoneInfo("UTC"))
    assert window.ends_at == datetime(2027, 3, 7, 4, 0, tzinfo=ZoneInfo("UTC"))
    off = MaintenanceCalendar(MaintenanceSettings(enabled=False), JST)
    assert off.window_at(maintenance_opens) is None
    assert off.next_windows(maintenance_opens, 3) == []


def test_cli_maintenance_next_prints_windows(tmp_path):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path}"\n')
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "maintenance",
            "next",
            "--count",
            "2",
            "--json",
            "--now",
            "2026-11-26T10:00+09:00",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"starts_at": "2026-11-28T19:00:00+09:00", "ends_at": "2026-11-29T08:00:00+09:00"},
        {"starts_at": "2026-12-26T19:00:00+09:00", "ends_at": "2026-12-27T08:00:00+09:00"},
    ]


def test_cli_refuses_a_bad_rule_naming_the_key(tmp_path):
    config = tmp_path / "certsvc.toml"
    config.write_text('[maintenance]\nstart = "25:00"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "maintenance", "next"])
    assert result.exit_code == 6
    assert "maintenance.start" in result.output

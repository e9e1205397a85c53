"""Pure rules: which reminder a catch-up sends, retry backoff, config of the new sections."""

import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest

from certsvc.config import OutboxSettings, settings_from_dict
from certsvc.errors import ConfigError
from certsvc.notify.drain import backoff
from certsvc.notify.reminders import offsets_due

DAYS = (60, 30, 14, 7, 1)
TODAY = date(2028, 11, 20)


def test_on_time_every_reminder_is_due():
    assert offsets_due(TODAY, TODAY, DAYS) == [1, 7, 14, 30, 60]


def test_a_catch_up_drops_a_reminder_overtaken_by_a_later_one():
    six_days_ago = TODAY - timedelta(days=6)
    # a 7-day reminder due six days ago is overtaken by the 1-day one due today
    assert 7 not in offsets_due(six_days_ago, TODAY, DAYS)
    assert offsets_due(six_days_ago, TODAY, DAYS) == [1, 14, 30, 60]
    assert 7 in offsets_due(TODAY - timedelta(days=5), TODAY, DAYS)


def test_backoff_starts_at_a_minute_doubles_and_is_capped_at_an_hour():
    rules = OutboxSettings()
    delays = [backoff(n, rules) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-1] == timedelta(hours=1)
    assert max(delays) == timedelta(hours=1)


def test_example_config_is_valid_and_matches_the_defaults():
    example = Path(__file__).parents[2] / "config.example.toml"
    data = tomllib.loads(example.read_text())
    settings = settings_from_dict(data)
    defaults = settings_from_dict({})
    for section in ("mail", "reminders", "outbox", "scheduler", "maintenance"):
        assert getattr(settings, section) == getattr(defaults, section)


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("mail", {"security": "ssl"}, "mail.security"),
        ("reminders", {"days_before": [7, 7]}, "reminders.days_before"),
        ("scheduler", {"nightly_at": "24:00"}, "scheduler.nightly_at"),
    ],
)
def test_bad_settings_name_the_key(section, value, key):
    with pytest.raises(ConfigError, match=key):
        settings_from_dict({section: value})


def test_mail_password_comes_from_the_environment_and_is_hidden(monkeypatch):
    monkeypatch.setenv("CERTSVC_MAIL_PASSWORD", "from-env")
    mail = settings_from_dict({"mail": {"username": "u"}}).mail
    assert mail.resolved_password() == "from-env"
    configured = settings_from_dict({"mail": {"password": "in-file"}}).mail
    assert configured.resolved_password() == "in-file"
    assert "in-file" not in repr(configured)

"""The credential rules of domain.md, one by one (pure functions, no database)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from certsvc.access.credentials import (
    Secrets,
    challenge_answer,
    check_password,
    check_registration_number,
    load_pepper,
    next_midnight,
    temporary_password,
    temporary_registration_number,
)
from certsvc.config import CredentialSettings
from certsvc.domain.business_days import BusinessCalendar
from certsvc.errors import ConfigError, InputError
from tests.timestamps import JST, utc_late_evening

CHEAP = CredentialSettings(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1)


def test_the_faq_example_12345678_from_position_6_is_6781():
    assert challenge_answer("12345678", 6) == "6781"


@pytest.mark.parametrize(
    ("position", "answer"),
    [(1, "1234"), (5, "5678"), (7, "7812"), (8, "8123")],
)
def test_challenge_wraps_around_the_end(position, answer):
    assert challenge_answer("12345678", position) == answer


@pytest.mark.parametrize("password", ["abcdefg1", "ABCDEFGH!", "12345678-", "a" * 31 + "1"])
def test_password_of_8_to_32_with_two_classes_is_accepted(password):
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("abc1234", "8-32"),
        ("a1" * 16 + "x", "8-32"),
        ("abcdefgh", "two of"),
        ("12345678", "two of"),
        ("!#$%&'()", "two of"),
        ("abcd\x00123", "control"),
    ],
)
def test_password_breaking_a_rule_is_refused_with_the_rule(password, complaint):
    with pytest.raises(InputError, match=complaint):
        check_password(password)


@pytest.mark.parametrize("number", ["1234567", "123456789", "1234567a", "１２３４５６７８"])
def test_registration_number_must_be_8_ascii_digits(number):
    with pytest.raises(InputError, match="8 digits"):
        check_registration_number(number)


def test_registration_number_of_one_repeated_digit_is_refused():
    with pytest.raises(InputError, match="repeated"):
        check_registration_number("11111111")
    assert check_registration_number("11111112") == "11111112"


def test_lock_lifts_at_the_next_midnight_of_the_business_zone():
    afternoon = datetime(2026, 11, 26, 16, 30, tzinfo=JST)
    assert next_midnight(afternoon, JST) == datetime(2026, 11, 27, 0, 0, tzinfo=JST)
    # 20:00 UTC on the 26th is already the 27th in Tokyo: the lock lifts on the 28th.
    assert next_midnight(utc_late_evening, JST) == datetime(2026, 11, 28, 0, 0, tzinfo=JST)


def test_helpdesk_working_days_default_to_tuesday_and_thursday():
    days = CredentialSettings().helpdesk_days
    calendar = BusinessCalendar("JP")
    assert calendar.closure(date(2026, 11, 26), days) is None  # Thursday
    assert calendar.closure(date(2026, 11, 24), days) is None  # Tuesday
    wednesday = calendar.closure(date(2026, 11, 25), days)
    assert wednesday is not None
    assert wednesday.reason == "2026-11-25 is a Wednesday"


def test_a_public_holiday_on_a_tuesday_is_closed_and_the_next_day_is_named():
    days = CredentialSettings().helpdesk_days
    calendar = BusinessCalendar("JP")
    closure = calendar.closure(date(2026, 11, 3), days)  # Culture Day, a Tuesday
    assert closure is not None
    assert closure.reason == "2026-11-03 is a public holiday (Culture Day)"
    assert calendar.next_open(date(2026, 11, 3), days) == date(2026, 11, 5)


def test_extra_closed_dates_and_no_country():
    days = CredentialSettings().helpdesk_days
    calendar = BusinessCalendar("", [date(2026, 11, 5)])
    assert calendar.closure(date(2026, 11, 3), days) is None  # no public holidays
    assert calendar.holiday_name(date(2026, 11, 5)) == "closed date"
    assert calendar.next_open(date(2026, 11, 3), days) == date(2026, 11, 10)
    assert BusinessCalendar("JP").next_open(date(2026, 11, 3), ()) is None
    with pytest.raises(ConfigError, match="holiday_country"):
        BusinessCalendar("XX")


@pytest.mark.parametrize(
    "password", ["ｐａｓｓｗｏｒｄ12", "password１２", "pass　word12", "pässword12"]
)
def test_full_width_and_other_non_ascii_characters_are_refused_by_name(password):
    with pytest.raises(InputError, match="half-width"):
        check_password(password)


def test_temporary_registration_numbers_pass_the_rules():
    for _ in range(50):
        check_registration_number(temporary_registration_number())


def test_temporary_passwords_pass_the_password_rules_and_differ():
    made = {temporary_password() for _ in range(20)}
    assert len(made) == 20
    for password in made:
        check_password(password)


def test_registration_windows_check_a_challenge_without_the_number(tmp_path):
    secrets = Secrets.from_settings(CHEAP, load_pepper(tmp_path / "pepper"))
    windows = secrets.registration_windows(7, "12345678")
    assert not any("6781" in window for window in windows)
    assert secrets.window_matches(windows, 7, 6, "6781")
    assert not secrets.window_matches(windows, 7, 6, "6782")
    assert not secrets.window_matches(windows, 8, 6, "6781")  # bound to its owner
    assert not secrets.window_matches(windows, 7, 9, "6781")
    assert secrets.number_matches(windows, 7, "12345678")
    assert not secrets.number_matches(windows, 7, "12345679")
    assert not secrets.number_matches(windows, 7, "123")


def test_pepper_is_created_once_private_and_then_reused(tmp_path):
    path = tmp_path / "pepper"
    first = load_pepper(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_pepper(path) == first
    assert len(first) == 32


def test_password_hash_is_argon2id_and_verifies(tmp_path):
    secrets = Secrets.from_settings(CHEAP, b"k" * 32)
    hashed = secrets.hash_password("Sakura-2026")
    assert hashed.startswith("$argon2id$")
    assert "Sakura" not in hashed
    assert secrets.password_matches(hashed, "Sakura-2026")
    assert not secrets.password_matches(hashed, "Sakura-2027")
    assert not secrets.password_matches("not a hash", "Sakura-2026")

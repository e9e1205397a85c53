"""Validity dates, key rules, CSR checks, reasons and serial formats."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from certsvc.config import KeyPolicySettings
from certsvc.domain import identifiers
from certsvc.domain.fingerprints import format_serial, normalise_serial, parse_serial
from certsvc.domain.policy import (
    RevocationReason,
    add_years,
    check_public_key,
    load_csr,
    validity_for,
)
from certsvc.errors import InputError
from tests import timestamps
from tests.keys import csr_with_broken_signature, make_csr, make_key

JST = timestamps.JST
NO_BACKDATE = timedelta(0)


def test_two_years_ends_on_the_same_date_at_the_last_second_business_time():
    validity = validity_for(timestamps.issued, 2, JST, NO_BACKDATE)
    assert validity.expiry_date == date(2028, 11, 26)
    assert validity.not_after == timestamps.expiry_evening
    assert validity.invalid_from == timestamps.day_after
    assert validity.invalid_from - validity.not_after == timedelta(seconds=1)


def test_expiry_date_is_the_business_date_even_when_the_host_clock_is_utc():
    # 20:00 UTC on the 26th is 05:00 on the 27th in Tokyo: the business date is the 27th.
    validity = validity_for(timestamps.utc_late_evening, 2, JST, NO_BACKDATE)
    assert validity.expiry_date == date(2028, 11, 27)
    assert validity.not_after.astimezone(JST).isoformat() == "2028-11-27T23:59:59+09:00"


def test_a_utc_business_zone_keeps_the_utc_date():
    validity = validity_for(timestamps.utc_late_evening, 2, ZoneInfo("UTC"), NO_BACKDATE)
    assert validity.expiry_date == date(2028, 11, 26)
    assert validity.not_after == datetime(2028, 11, 26, 23, 59, 59, tzinfo=UTC)


def test_issued_on_a_leap_day_expires_on_28_february():
    validity = validity_for(timestamps.leap_day, 2, JST, NO_BACKDATE)
    assert validity.expiry_date == date(2030, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)


def test_not_before_is_backdated_by_the_configured_skew():
    validity = validity_for(timestamps.issued, 2, JST, timedelta(minutes=5))
    assert validity.not_before == timestamps.issued - timedelta(minutes=5)


RULES = KeyPolicySettings()


@pytest.mark.parametrize("kind", ["rsa2048", "rsa3072", "p256", "p384", "ed25519"])
def test_accepted_keys(kind):
    key = make_key(kind).public_key()
    assert check_public_key(key, RULES) is key


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("rsa1024", r"weak key: RSA 1024 bits \(at least 2048\)"),
        ("p521", "curve secp521r1"),
        ("dsa", "DSAPublicKey keys are not accepted"),
    ],
)
def test_refused_keys_say_why(kind, message):
    with pytest.raises(InputError, match=message):
        check_public_key(make_key(kind).public_key(), RULES)


def test_an_rsa_key_with_a_small_exponent_is_refused():
    key = rsa.generate_private_key(public_exponent=3, key_size=2048).public_key()
    with pytest.raises(InputError, match=r"RSA public exponent 3 .*65537"):
        check_public_key(key, RULES)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (identifiers.company_number, "1001\n"),
        (identifiers.user_id, "taro\n"),
        (identifiers.email, "taro@acme.example.jp\n"),
    ],
)
def test_identifiers_with_a_trailing_newline_are_refused(check, value):
    with pytest.raises(InputError):
        check(value)


def test_ed25519_can_be_switched_off():
    rules = KeyPolicySettings(allow_ed25519=False)
    with pytest.raises(InputError, match="Ed25519 is not allowed"):
        check_public_key(make_key("ed25519").public_key(), rules)


def test_a_csr_with_a_valid_self_signature_loads():
    csr = load_csr(make_csr("p256", "browser"))
    assert csr.is_signature_valid


def test_a_csr_with_a_broken_signature_is_refused_for_lack_of_proof_of_possession():
    with pytest.raises(InputError, match="no proof of possession"):
        load_csr(csr_with_broken_signature())


@pytest.mark.parametrize("data", [b"", b"hello", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"])
def test_malformed_csrs_are_refused(data):
    with pytest.raises(InputError, match="malformed CSR"):
        load_csr(data)


def test_a_huge_csr_is_refused_before_parsing():
    with pytest.raises(InputError, match="CSR too large"):
        load_csr(b"x" * 100_000)


def test_revocation_reasons_use_the_ca_api_spelling():
    assert RevocationReason.parse("keyCompromise").flag.value == "keyCompromise"
    with pytest.raises(InputError, match="unknown revocation reason 'compromised'"):
        RevocationReason.parse("compromised")


@pytest.mark.parametrize(
    ("serial", "printed"),
    [(0x0A1B, "0A1B"), (0x1, "01"), (0xABC, "0ABC"), (0x80, "80"), (2**127, "80" + "00" * 15)],
)
def test_serials_print_as_nginx_prints_them(serial, printed):
    assert format_serial(serial) == printed


@pytest.mark.parametrize("typed", ["0a1b", "0A:1B", "a1b", "0x0A1B", " 0A1B "])
def test_serial_input_is_forgiving(typed):
    assert normalise_serial(typed) == "0A1B"


@pytest.mark.parametrize("typed", ["", "xyz", "00", "1" * 42, "12-34"])
def test_bad_serials_are_refused(typed):
    with pytest.raises(InputError):
        parse_serial(typed)

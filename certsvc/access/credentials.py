"""Pickup credentials: the password, the registration-number challenge and the lock.

The rules are the operator's (domain.md, "Credentials"): a password of 8-32 characters
from at least two of the classes digits / letters / symbols, expiring 90 days after it
was set, the previous two not reusable; a registration number of 8 digits, not all the
same, asked as 4 digits from a random position (wrapping); three failures lock the
account until the next day in the business zone, or until an operator resets it.

Passwords are argon2id hashes. The registration number is kept as one HMAC per 4-digit
window under a server key (the *pepper*), so the database alone reveals nothing and a
challenge is checked without the number in clear. Every comparison is constant-time and
every failure is the same ``AuthenticationFailed``, whether the user exists or not.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from certsvc.config import CredentialSettings
from certsvc.errors import ConfigError, InputError

PASSWORD_MIN, PASSWORD_MAX = 8, 32
REGISTRATION_DIGITS = 8
CHALLENGE_LENGTH = 4
FAILED = (
    "authentication failed: user ID, password or registration-number digits are wrong, "
    "or the account is locked until tomorrow after repeated failures"
)


class ResetTarget(StrEnum):
    """What a reset replaces; the subscriber chooses (初期化対象を選択)."""

    PASSWORD = "password"
    REGISTRATION_NUMBER = "registration_number"
    BOTH = "both"

    @property
    def password(self) -> bool:
        return self is not ResetTarget.REGISTRATION_NUMBER

    @property
    def number(self) -> bool:
        return self is not ResetTarget.PASSWORD


def check_password(password: str, field: str = "password") -> str:
    """8-32 half-width (ASCII) characters from at least two classes (digits, letters,
    symbols); a full-width character (ＡＢＣ, １２３, 　) is refused by name."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InputError(f"{field} must be {PASSWORD_MIN}-{PASSWORD_MAX} characters", field)
    if any(not char.isascii() for char in password):
        raise InputError(
            f"{field} takes half-width (ASCII) letters, digits and symbols only: "
            "full-width or other non-ASCII characters are not allowed",
            field,
        )
    if any(not char.isprintable() for char in password):
        raise InputError(f"{field} must not contain control characters", field)
    classes = {_char_class(char) for char in password}
    if len(classes) < 2:
        raise InputError(f"{field} needs at least two of: digits, letters, symbols", field)
    return password


def _char_class(char: str) -> str:
    if char in string.digits:
        return "digit"
    return "letter" if char.isalpha() else "symbol"


def check_registration_number(number: str) -> str:
    """Exactly 8 ASCII digits, not all the same digit."""
    if len(number) != REGISTRATION_DIGITS or any(c not in string.digits for c in number):
        raise InputError("registration number must be 8 digits", "registration_number")
    if len(set(number)) == 1:
        raise InputError(
            "registration number must not be one digit repeated", "registration_number"
        )
    return number


def challenge_answer(number: str, position: int) -> str:
    """The 4 digits from 1-based ``position``, wrapping: ``12345678`` at 6 is ``6781``."""
    if not 1 <= position <= len(number):
        raise ValueError(f"challenge position {position} outside 1-{len(number)}")
    doubled = number + number
    return doubled[position - 1 : position - 1 + CHALLENGE_LENGTH]


def draw_position() -> int:
    return secrets.randbelow(REGISTRATION_DIGITS) + 1


def next_midnight(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of the next day in the business zone: when a lock lifts by itself."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=zone)


def temporary_password() -> str:
    """A random 16-character password that itself passes ``check_password``."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if {_char_class(char) for char in candidate} == {"digit", "letter"}:
            return candidate


def temporary_registration_number() -> str:
    """8 random digits that pass ``check_registration_number`` (not one digit repeated)."""
    while True:
        candidate = "".join(secrets.choice(string.digits) for _ in range(REGISTRATION_DIGITS))
        if len(set(candidate)) > 1:
            return candidate


@dataclass(frozen=True)
class Secrets:
    """The hashing parts: argon2id for passwords, HMAC under the pepper for the rest."""

    hasher: PasswordHasher
    pepper: bytes

    @classmethod
    def from_settings(cls, rules: CredentialSettings, pepper: bytes) -> Secrets:
        hasher = PasswordHasher(
            time_cost=rules.argon2_time_cost,
            memory_cost=rules.argon2_memory_kib,
            parallelism=rules.argon2_parallelism,
        )
        return cls(hasher, pepper)

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def password_matches(self, stored: str, password: str) -> bool:
        """argon2 verification (constant-time inside); False on any mismatch."""
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification, so an unknown user answers as slowly."""
        self.password_matches(self._dummy, password)

    @property
    def _dummy(self) -> str:
        return _dummy_hash(self.hasher)

    def mac(self, *parts: object) -> str:
        message = "\x1f".join(str(part) for part in parts).encode()
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()

    def registration_windows(self, owner: int, number: str) -> list[str]:
        """One keyed hash per challenge position, bound to the credential's owner."""
        return [
            self.mac("window", owner, position, challenge_answer(number, position))
            for position in range(1, REGISTRATION_DIGITS + 1)
        ]

    def window_matches(self, windows: list[str], owner: int, position: int, answer: str) -> bool:
        if not 1 <= position <= len(windows):
            return False
        expected = windows[position - 1]
        return hmac.compare_digest(expected, self.mac("window", owner, position, answer))

    def number_matches(self, windows: list[str], owner: int, number: str) -> bool:
        """The whole number: positions 1 and 5 cover all 8 digits."""
        if len(number) != REGISTRATION_DIGITS:
            number = "0" * REGISTRATION_DIGITS  # still compare, in the same time
        first = self.window_matches(windows, owner, 1, challenge_answer(number, 1))
        second = self.window_matches(windows, owner, 5, challenge_answer(number, 5))
        return first & second


_DUMMIES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the configured parameters, made once per parameter set."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMIES:
        _DUMMIES[key] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMIES[key]


def load_pepper(path: Path) -> bytes:
    """Read the server key for keyed hashes; create it (0600) on first use.

    Created with ``O_EXCL`` so two processes starting together end up with one key.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) < 32:
            raise ConfigError(f"credential key file {path} is damaged (under 32 bytes)") from None
        return data
    with os.fdopen(descriptor, "wb") as handle:
        data = secrets.token_bytes(32)
        handle.write(data)
    return data

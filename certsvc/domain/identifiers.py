"""Checks for the names users type: company numbers, user IDs, e-mail addresses.

They end up in certificate subjects and mail headers, so they are checked at the door
with a message that names the field.
"""

from __future__ import annotations

import re

from certsvc.errors import InputError

_COMPANY_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,32}$")
_USER_ID = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$")
MAX_NAME = 200


def company_number(value: str) -> str:
    if not _COMPANY_NUMBER.fullmatch(value):
        raise InputError(
            f"invalid company number {value!r} (1-32 letters, digits, '-')", "company_number"
        )
    return value


def user_id(value: str) -> str:
    if not _USER_ID.fullmatch(value):
        raise InputError(f"invalid user ID {value!r} (1-64 letters, digits, '._@+-')", "user_id")
    return value


def email(value: str, field: str = "email") -> str:
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InputError(f"invalid e-mail address {value!r}", field)
    return value


def display_name(value: str, field: str = "name") -> str:
    if len(value) > MAX_NAME or any(ord(char) < 32 for char in value):
        raise InputError(f"invalid {field}: at most {MAX_NAME} printable characters", field)
    return value

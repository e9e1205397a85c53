"""TOTP enrolment: the URI round-trips through pyotp, the QR code decodes to it, codes."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import zxingcpp

from certsvc.access.totp import (
    Enrolment,
    SecretBox,
    matching_step,
    new_secret,
    provisioning_uri,
    qr_image,
    step_of,
)
from certsvc.errors import ConfigError
from tests import timestamps

SCALE = 4  # pixels per module in the raster the test draws


def raster(svg: str) -> tuple[bytes, int]:
    """Draw segno's SVG path (``M x y``, ``h n``, ``m dx dy``) as a grey-scale image."""
    width = int(re.search(r'width="(\d+)"', svg).group(1)) // 4  # type: ignore[union-attr]
    path = re.search(r' d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmh])([-0-9. ]+)", path):
        values = [float(value) for value in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            dark.update((int(x) + i, int(y - 0.5)) for i in range(int(values[0])))
            x += values[0]
    size = width * SCALE
    pixels = bytearray(b"\xff" * size * size)
    for column, row in dark:
        for dy in range(SCALE):
            start = (row * SCALE + dy) * size + column * SCALE
            pixels[start : start + SCALE] = b"\x00" * SCALE
    return bytes(pixels), size


def test_the_uri_round_trips_through_pyotp():
    secret = new_secret()
    uri = provisioning_uri(secret, "hanako", "certsvc Acme")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.name == "hanako"
    assert parsed.issuer == "certsvc Acme"
    assert (parsed.digits, parsed.interval) == (6, 30)
    assert uri.startswith("otpauth://totp/")


def test_the_qr_code_certsvc_draws_decodes_to_the_uri():
    uri = provisioning_uri(new_secret(), "hanako@desk", "certsvc")
    svg = Enrolment(uri).svg()
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    pixels, size = raster(svg)
    image = memoryview(pixels).cast("B", (size, size))
    (found,) = zxingcpp.read_barcodes(image)
    assert found.text == uri
    assert qr_image(uri, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_a_code_counts_within_the_drift_and_names_its_step():
    secret = new_secret()
    now = timestamps.issued
    code = pyotp.TOTP(secret).at(now)
    assert matching_step(secret, code, now, 1) == step_of(now)
    assert matching_step(secret, code[:3] + " " + code[3:], now, 1) == step_of(now)
    later = now + timedelta(seconds=30)
    assert matching_step(secret, code, later, 1) == step_of(now)
    assert matching_step(secret, code, later, 0) is None
    assert matching_step(secret, code, now + timedelta(minutes=2), 1) is None
    assert matching_step(secret, "１２３４５６", now, 1) is None  # full-width digits


def test_a_sealed_secret_opens_only_for_its_owner_and_pepper():
    box = SecretBox.from_pepper(b"p" * 32)
    sealed = box.seal("JBSWY3DPEHPK3PXP", "hanako")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert box.open(sealed, "hanako") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ConfigError, match="jiro"):
        box.open(sealed, "jiro")
    with pytest.raises(ConfigError):
        SecretBox.from_pepper(b"q" * 32).open(sealed, "hanako")
    with pytest.raises(ConfigError):
        box.open("not base64!", "hanako")

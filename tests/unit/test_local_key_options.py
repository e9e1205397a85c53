"""``[ca.local]`` key-store options and the PKCS#11 PIN: refused with the key's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from ca_adapters.local.options import LocalOptions
from certsvc.errors import ConfigError

pkcs11_keys = pytest.importorskip("ca_adapters.local.pkcs11")


def test_a_token_needs_its_module_and_label():
    with pytest.raises(ValidationError, match="needs pkcs11_module and token_label"):
        LocalOptions(key_store="pkcs11")
    with pytest.raises(ValidationError, match="needs token_label"):
        LocalOptions(key_store="pkcs11", pkcs11_module="/lib/x.so")


def test_a_token_key_is_ecdsa():
    with pytest.raises(ValidationError, match="supports ecdsa-p256 and ecdsa-p384"):
        LocalOptions(
            key_store="pkcs11", pkcs11_module="/x.so", token_label="t", key_algorithm="rsa-3072"
        )


def test_the_pin_file_missing_or_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CERTSVC_PKCS11_PIN", raising=False)
    options = LocalOptions(
        key_store="pkcs11", pkcs11_module="/x.so", token_label="t", pin_file="pin"
    )
    with pytest.raises(ConfigError, match="PKCS#11 PIN file not found"):
        pkcs11_keys.read_pin(options, tmp_path)
    (tmp_path / "pin").write_text("\n")
    with pytest.raises(ConfigError, match="PKCS#11 PIN file is empty"):
        pkcs11_keys.read_pin(options, tmp_path)
    (tmp_path / "pin").write_text("4321\n")
    assert pkcs11_keys.read_pin(options, tmp_path) == "4321"


def test_a_token_key_refuses_every_export():
    public = ec.generate_private_key(ec.SECP384R1()).public_key()
    key = pkcs11_keys.TokenKey(pkcs11_keys.Token(LocalOptions(), Path()), None, public)
    assert key.key_size == 384
    assert key.curve.name == "secp384r1"
    with pytest.raises(ConfigError, match="cannot be exported"):
        key.private_numbers()
    with pytest.raises(ConfigError, match="cannot be exported"):
        key.exchange(ec.ECDH(), public)
    with pytest.raises(ConfigError, match="cannot be exported"):
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    assert key.__copy__() is key

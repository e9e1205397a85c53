"""The local CA's options: the ``[ca.local]`` table, validated when the adapter is built."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LocalOptions(BaseModel):
    """Unknown keys are refused: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dir: str = ""  # empty: <home>/ca
    key_algorithm: Literal["ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096"] = "ecdsa-p256"
    passphrase_env: str = "CERTSVC_CA_PASSPHRASE"
    passphrase_file: str = ""  # empty: <ca dir>/passphrase, generated on first init
    name: str = "certsvc"
    root_validity_years: int = Field(default=20, ge=1)
    issuing_validity_years: int = Field(default=10, ge=1)
    key_store: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str = ""  # e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str = ""
    pin_file: str = ""  # empty: the PIN comes from CERTSVC_PKCS11_PIN
    offline_root: bool = False  # the root key is on an offline box (certsvc ca root-ceremony)

    @model_validator(mode="after")
    def _token_named(self) -> Self:
        """A token needs its module and label; its keys are ECDSA (what tokens all do)."""
        if self.key_store != "pkcs11":
            return self
        missing = [key for key in ("pkcs11_module", "token_label") if not getattr(self, key)]
        if missing:
            raise ValueError(f"key_store = 'pkcs11' needs {' and '.join(missing)}")
        if not self.key_algorithm.startswith("ecdsa"):
            raise ValueError("key_store = 'pkcs11' supports ecdsa-p256 and ecdsa-p384 keys")
        return self

"""The local CA's options: the ``[ca.local]`` table, validated when the adapter is built."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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

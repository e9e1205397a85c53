"""The GlobalSign adapter's options: the ``[ca.globalsign]`` table, validated at build."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GlobalSignOptions(BaseModel):
    """Unknown keys are refused: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "https://emea.api.hvca.globalsign.com:8443/v2"
    api_key: str = ""
    api_secret: str = ""  # or env CERTSVC_CA_GLOBALSIGN_API_SECRET
    client_cert: str = ""
    client_key: str = ""
    server_ca: str = ""
    timeout_seconds: float = Field(default=10.0, gt=0)
    deadline_seconds: float = Field(default=60.0, gt=0)
    issue_deadline_seconds: float = Field(default=300.0, gt=0)
    retry_initial_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=8.0, ge=0)
    poll_initial_seconds: float = Field(default=1.0, ge=0)
    poll_max_seconds: float = Field(default=10.0, ge=0)
    token_lifetime_seconds: int = Field(default=540, ge=1, le=590)
    policy_cache_seconds: int = Field(default=3600, ge=0)
    crl_urls: tuple[str, ...] = ()  # empty: the CRL distribution points of the certificates

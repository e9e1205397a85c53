"""pytest plugin that runs the CA adapter conformance suite against any installed adapter.

    pytest -p ca_adapters.testing.plugin --pyargs ca_adapters.testing.conformance \\
        --ca-adapter NAME [--ca-config FILE]

``NAME`` is the adapter's name in the ``certsvc.ca_adapters`` entry-point group and
``FILE`` a certsvc TOML config with its ``[ca.NAME]`` table (``[certificates]`` crl_url
and ocsp_url and ``[business]`` timezone are read too when present). The adapter is
built through the registry, as certsvc builds it, with the suite's in-memory ledger and
a fresh home directory for each test; no database and no certsvc service is involved.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ca_adapters.base import CertificateURLs
from ca_adapters.testing.harness import ConformanceSetup


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("certsvc-ca", "certsvc CA adapter conformance")
    group.addoption("--ca-adapter", default="local", help="adapter entry-point name")
    group.addoption("--ca-config", default=None, help="certsvc TOML config for the adapter")


@pytest.fixture
def conformance_setup(request: pytest.FixtureRequest) -> ConformanceSetup:
    """The adapter named on the command line, with its table from the config file."""
    name = str(request.config.getoption("--ca-adapter"))
    data: dict[str, Any] = {}
    config = request.config.getoption("--ca-config")
    if config:
        with Path(config).open("rb") as handle:
            data = tomllib.load(handle)
    certificates = data.get("certificates", {})
    defaults = ConformanceSetup(name)
    return ConformanceSetup(
        name,
        options=data.get("ca", {}).get(name, {}),
        urls=CertificateURLs(
            certificates.get("crl_url", defaults.urls.crl_url),
            certificates.get("ocsp_url", defaults.urls.ocsp_url),
        ),
        zone=ZoneInfo(data.get("business", {}).get("timezone", defaults.zone.key)),
    )


@pytest.fixture
def conformance_faults() -> None:
    """No fault switches for an adapter under test from outside: those tests skip."""
    return None

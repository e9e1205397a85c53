"""pytest plugin that runs the CA adapter conformance suite against any installed adapter.

    pytest -p ca_adapters.testing.plugin --pyargs ca_adapters.testing.conformance \\
        --ca-adapter NAME [--ca-config FILE]

``NAME`` is the adapter's name in the ``certsvc.ca_adapters`` entry-point group and
``FILE`` a certsvc TOML config with its ``[ca.NAME]`` section; each test gets a fresh
SQLite database and home directory, so the config's own ``home`` and ``[database]``
are ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certsvc.app import Services
from certsvc.config import settings_from_dict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("certsvc-ca", "certsvc CA adapter conformance")
    group.addoption("--ca-adapter", default="local", help="adapter entry-point name")
    group.addoption("--ca-config", default=None, help="certsvc TOML config for the adapter")


@pytest.fixture
def conformance_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Initialised services whose CA is the adapter named on the command line."""
    data: dict[str, Any] = {}
    config = request.config.getoption("--ca-config")
    if config:
        with Path(config).open("rb") as handle:
            data = tomllib.load(handle)
    data.setdefault("ca", {})["adapter"] = request.config.getoption("--ca-adapter")
    data["home"] = str(tmp_path / "home")
    data["database"] = {"url": f"sqlite:///{tmp_path / 'certsvc.db'}"}
    services = Services(settings_from_dict(data))
    services.initialise()
    yield services
    services.engine.dispose()


@pytest.fixture
def conformance_faults() -> None:
    """No fault switches for an adapter under test from outside: those tests skip."""
    return None

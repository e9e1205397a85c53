"""The CA adapter conformance suite, run against every adapter certsvc ships."""

from __future__ import annotations

import pytest

from ca_adapters.testing.conformance import *  # noqa: F403 - the suite's tests run here
from certsvc.app import Services
from tests.fakes.globalsign import FakeGlobalSign


@pytest.fixture(params=["local", "globalsign"])
def conformance_services(request: pytest.FixtureRequest) -> Services:
    """The local CA, and the GlobalSign adapter against the fake CA API."""
    name = "services" if request.param == "local" else "gs_services"
    return request.getfixturevalue(name)


@pytest.fixture
def conformance_faults(
    request: pytest.FixtureRequest, conformance_services: Services
) -> FakeGlobalSign | None:
    """The fake's fault switches; the local CA has none to throw."""
    if conformance_services.adapter.name == "globalsign":
        return request.getfixturevalue("hvca")
    return None

"""The CA adapter conformance suite, run against every adapter certsvc ships."""

from __future__ import annotations

import pytest

from ca_adapters.testing.conformance import *  # noqa: F403 - the suite's tests run here
from ca_adapters.testing.harness import ConformanceSetup
from certsvc.clock import FixedClock
from tests.fakes.globalsign import FakeGlobalSign
from tests.fakes.timer import FakeTimer


@pytest.fixture(params=["local", "globalsign"])
def conformance_setup(
    request: pytest.FixtureRequest, clock: FixedClock, timer: FakeTimer
) -> ConformanceSetup:
    """The local CA, and the GlobalSign adapter against the fake CA API; no ``Services``."""
    if request.param == "local":
        return ConformanceSetup("local", clock=clock, timer=timer)
    hvca: FakeGlobalSign = request.getfixturevalue("hvca")
    return ConformanceSetup("globalsign", hvca.settings(), clock=clock, timer=timer)


@pytest.fixture
def conformance_faults(
    request: pytest.FixtureRequest, conformance_setup: ConformanceSetup
) -> FakeGlobalSign | None:
    """The fake's fault switches; the local CA has none to throw."""
    if conformance_setup.adapter == "globalsign":
        return request.getfixturevalue("hvca")
    return None

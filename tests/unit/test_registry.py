"""The adapter registry: third-party names and tables, and what it refuses, by name."""

from __future__ import annotations

from importlib.metadata import EntryPoint, EntryPoints
from importlib.metadata import entry_points as installed_entry_points
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ConfigDict

from ca_adapters import registry
from ca_adapters.base import AdapterContext, AdapterPlugin
from ca_adapters.local import LocalCA
from ca_adapters.testing.memory_ledger import MemoryLedger
from certsvc.app import Services
from certsvc.clock import FixedClock
from certsvc.config import settings_from_dict
from certsvc.errors import ConfigError
from tests import timestamps


class AcmeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    directory_url: str = "https://acme.example/directory"


def _returns_an_object(context: AdapterContext[AcmeOptions]) -> Any:
    return object()


not_an_adapter = AdapterPlugin(AcmeOptions, _returns_an_object)
not_a_plugin = _returns_an_object


def _context(tmp_path: Path, table: dict[str, object]) -> AdapterContext[Any]:
    return AdapterContext(
        table, FixedClock(timestamps.issued), MemoryLedger(), tmp_path, ZoneInfo("Asia/Tokyo")
    )


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two extra entry points in the group, naming objects of this module."""
    extra = [
        EntryPoint("wrong", f"{__name__}:not_an_adapter", registry.GROUP),
        EntryPoint("bare", f"{__name__}:not_a_plugin", registry.GROUP),
        EntryPoint("missing", f"{__name__}:no_such_thing", registry.GROUP),
    ]

    def entry_points(**params: Any) -> EntryPoints:
        return EntryPoints([*installed_entry_points(group=registry.GROUP), *extra]).select(**params)

    monkeypatch.setattr(registry, "entry_points", entry_points)


def test_a_third_party_adapter_with_its_own_table_loads_up_to_not_installed(tmp_path):
    settings = settings_from_dict(
        {"home": str(tmp_path), "ca": {"adapter": "acme", "acme": {"foo": 1}}}
    )
    assert settings.ca.adapter == "acme"
    assert settings.ca.options("acme") == {"foo": 1}
    with pytest.raises(ConfigError, match=r"no adapter 'acme' installed \(known: .*local"):
        _ = Services(settings).adapter


def test_a_table_for_no_installed_adapter_is_a_typo_named_by_its_key(tmp_path):
    settings = settings_from_dict({"home": str(tmp_path), "ca": {"locl": {"name": "x"}}})
    with pytest.raises(ConfigError, match=r"^config key ca\.locl: no adapter 'locl' installed"):
        _ = Services(settings).adapter


def test_a_bad_key_in_an_adapter_table_names_the_adapter_and_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"^config key ca\.local\.key_algoritm: Extra inputs"):
        registry.load_adapter("local", _context(tmp_path, {"key_algoritm": "rsa-4096"}))
    with pytest.raises(ConfigError, match=r"^config key ca\.globalsign\.timeout_seconds: "):
        registry.adapter_options("globalsign", {"timeout_seconds": 0})


def test_an_adapter_gets_its_table_validated_by_its_own_model(tmp_path):
    adapter = registry.load_adapter("local", _context(tmp_path, {"dir": "keys"}))
    assert isinstance(adapter, LocalCA)
    assert adapter.directory == tmp_path / "keys"


@pytest.mark.usefixtures("installed")
def test_a_factory_that_returns_no_adapter_is_named_by_its_entry_point(tmp_path):
    with pytest.raises(ConfigError) as caught:
        registry.load_adapter("wrong", _context(tmp_path, {}))
    assert str(caught.value) == (
        f"certsvc.ca_adapters:wrong = {__name__}:not_an_adapter returned object, not a CAAdapter"
    )


@pytest.mark.usefixtures("installed")
def test_an_entry_point_that_names_no_plugin_or_nothing_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"ca_adapters:bare = .* names a function, not an Adap"):
        registry.load_adapter("bare", _context(tmp_path, {}))
    with pytest.raises(ConfigError, match=r"ca_adapters:missing = .*no_such_thing does not load"):
        registry.load_adapter("missing", _context(tmp_path, {}))
    assert {"bare", "local", "globalsign"} <= set(registry.available_adapters())

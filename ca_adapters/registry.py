"""Find and build the configured CA adapter through the ``certsvc.ca_adapters`` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from ca_adapters.base import AdapterContext, CAAdapter
from certsvc.errors import ConfigError

GROUP = "certsvc.ca_adapters"


def available_adapters() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=GROUP))


def load_adapter(context: AdapterContext) -> CAAdapter:
    """Build the adapter named by ``[ca] adapter``; an unknown name is a config error."""
    name = context.settings.ca.adapter
    matches = entry_points(group=GROUP, name=name)
    if not matches:
        known = ", ".join(available_adapters()) or "none installed"
        raise ConfigError(f"config key ca.adapter: unknown CA adapter {name!r} (known: {known})")
    factory = next(iter(matches)).load()
    adapter: CAAdapter = factory(context)
    return adapter

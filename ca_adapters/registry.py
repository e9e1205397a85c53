"""Find and build a CA adapter through the ``certsvc.ca_adapters`` entry points.

Everything a plug-in can get wrong is a ``ConfigError`` that names it: an adapter not
installed, an entry point that does not load or names no ``AdapterPlugin``, a bad key in
its ``[ca.<name>]`` table, a factory that returns something that is not a ``CAAdapter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from ca_adapters.base import AdapterContext, AdapterPlugin, CAAdapter
from certsvc.errors import ConfigError

GROUP = "certsvc.ca_adapters"


def available_adapters() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=GROUP))


def refuse_unknown_tables(tables: Iterable[str], configured: str) -> None:
    """A ``[ca.<name>]`` table for no installed adapter is a typo, not a silent default.

    The configured adapter is left to ``find_plugin``, whose message names ``ca.adapter``.
    """
    known = available_adapters()
    for name in sorted(set(tables) - {configured}):
        if name not in known:
            listed = ", ".join(known) or "none"
            raise ConfigError(
                f"config key ca.{name}: no adapter {name!r} installed (known: {listed})"
            )


def find_plugin(name: str) -> tuple[EntryPoint, AdapterPlugin[Any]]:
    """The entry point named ``name`` and the plug-in it names."""
    matches = entry_points(group=GROUP, name=name)
    if not matches:
        known = ", ".join(available_adapters()) or "none"
        raise ConfigError(f"config key ca.adapter: no adapter {name!r} installed (known: {known})")
    entry = next(iter(matches))
    try:
        plugin = entry.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{_describe(entry)} does not load: {exc}") from exc
    if not isinstance(plugin, AdapterPlugin):
        kind = type(plugin).__name__
        raise ConfigError(f"{_describe(entry)} names a {kind}, not an AdapterPlugin")
    return entry, plugin


def adapter_options(name: str, table: Mapping[str, object]) -> BaseModel:
    """The ``[ca.<name>]`` table validated by the adapter's own options model."""
    return _validate(name, find_plugin(name)[1], table)


def load_adapter(name: str, context: AdapterContext[Mapping[str, object]]) -> CAAdapter:
    """Build adapter ``name`` from a context carrying its raw ``[ca.<name>]`` table."""
    entry, plugin = find_plugin(name)
    options = _validate(name, plugin, context.options)
    adapter: object = plugin.create(context.with_options(options))
    if not isinstance(adapter, CAAdapter):
        kind = type(adapter).__name__
        raise ConfigError(f"{_describe(entry)} returned {kind}, not a CAAdapter")
    return adapter


def _validate(name: str, plugin: AdapterPlugin[Any], table: Mapping[str, object]) -> BaseModel:
    try:
        options: BaseModel = plugin.options.model_validate(dict(table))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in (name, *first["loc"]))
        raise ConfigError(f"config key ca.{where}: {first['msg']}") from exc
    return options


def _describe(entry: EntryPoint) -> str:
    return f"{GROUP}:{entry.name} = {entry.value}"

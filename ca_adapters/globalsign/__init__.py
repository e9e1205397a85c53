"""The GlobalSign adapter (``[ca] adapter = "globalsign"``): a client of the HVCA-style API."""

from ca_adapters.base import AdapterPlugin
from ca_adapters.globalsign.adapter import GlobalSignCA, create
from ca_adapters.globalsign.options import GlobalSignOptions

plugin = AdapterPlugin(GlobalSignOptions, create)
"""What the ``globalsign`` entry point names: the ``[ca.globalsign]`` model and the factory."""

__all__ = ["GlobalSignCA", "GlobalSignOptions", "create", "plugin"]

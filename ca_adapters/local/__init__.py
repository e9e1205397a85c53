"""The local CA adapter (``[ca] adapter = "local"``): a two-tier CA built on ``cryptography``."""

from ca_adapters.base import AdapterPlugin
from ca_adapters.local.adapter import LocalCA, create
from ca_adapters.local.options import LocalOptions

plugin = AdapterPlugin(LocalOptions, create)
"""What the ``local`` entry point names: the ``[ca.local]`` model and the factory."""

__all__ = ["LocalCA", "LocalOptions", "create", "plugin"]

"""The GlobalSign adapter (``[ca] adapter = "globalsign"``): a client of the HVCA-style API."""

from ca_adapters.globalsign.adapter import GlobalSignCA, create

__all__ = ["GlobalSignCA", "create"]

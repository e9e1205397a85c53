"""The local CA adapter (``[ca] adapter = "local"``): a two-tier CA built on ``cryptography``."""

from ca_adapters.local.adapter import LocalCA, create

__all__ = ["LocalCA", "create"]

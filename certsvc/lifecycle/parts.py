"""The parts every lifecycle step works with, handed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from ca_adapters.base import CAAdapter
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.storage.db import SessionFactory


@dataclass(frozen=True)
class Parts:
    """Sessions, the CA adapter, the clock and the settings; no behaviour of its own, so
    a step given these never calls back into the ``Lifecycle`` that handed them over."""

    sessions: SessionFactory
    adapter: CAAdapter
    clock: Clock
    settings: Settings

    @property
    def tells_previous_holder(self) -> bool:
        """Whether the old person of a user change gets the revocation notice (old address)."""
        return self.settings.reissue.notify_previous_holder == "old-address"

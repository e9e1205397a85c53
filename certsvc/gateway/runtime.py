"""The gateway feed of one serving instance: its in-memory state and the loop that keeps it.

Every ``poll_seconds`` the loop reads the feed version from the database (a cheap
``max(version)``), so a change made by any process reaches this instance's allowlist,
check and CRLs within about a second; CRLs are also rebuilt on schedule before their
nextUpdate.
"""

from __future__ import annotations

import asyncio
from functools import cached_property

from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.db import SessionFactory
from certsvc.gateway.crl import CRLPublisher
from certsvc.gateway.metrics import GatewayMetrics
from certsvc.gateway.refresher import CRLRefresher
from certsvc.logging import get_logger

log = get_logger("certsvc.gateway")


class Gateway:
    """What ``/crl``, ``/gateway`` and ``/ocsp`` serve from, and how it stays current."""

    def __init__(
        self, settings: Settings, clock: Clock, sessions: SessionFactory, publisher: CRLPublisher
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sessions = sessions
        self.publisher = publisher
        self.metrics = GatewayMetrics()

    @cached_property
    def crls(self) -> CRLRefresher:
        rules = self.settings.gateway
        return CRLRefresher(
            self.publisher,
            self.clock,
            self.metrics,
            rules.crl_debounce_seconds,
            rules.crl_check_seconds,
        )

    def poll_once(self) -> None:
        """One round: follow the feed, rebuild CRLs when due, check their age."""
        self.crls.tick()

    def problems(self) -> list[str]:
        """Why this instance is not ready to serve gateways (empty when it is)."""
        return [f"CRL of {ca} is past its nextUpdate" for ca in self.crls.stale()]

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; a failing round is logged and retried, never fatal."""
        interval = self.settings.gateway.poll_seconds
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.poll_once)
            except Exception as error:  # the loop must outlive any one failure
                self.metrics.feed_poll_errors.inc()
                log.error("gateway.poll_failed", error=str(error))
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

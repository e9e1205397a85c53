"""The gateway feed of one serving instance: its in-memory state and the loop that keeps it.

Every ``poll_seconds`` the loop reads the feed version from the database (a cheap
``max(version)``), so a change made by any process reaches this instance's allowlist,
check and CRLs within about a second; CRLs are also rebuilt on schedule before their
nextUpdate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property

from sqlalchemy.exc import IntegrityError

from certsvc.access.feed_tokens import FeedAccess
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.feed.allowlist import AllowlistIndex
from certsvc.feed.ca_check import readiness_problems
from certsvc.feed.changes import prune
from certsvc.feed.check import Checker
from certsvc.feed.crl import CRLPublisher
from certsvc.feed.exports import Exports
from certsvc.feed.metrics import GatewayMetrics
from certsvc.feed.ocsp import OCSPResponder
from certsvc.feed.refresher import CRLRefresher
from certsvc.feed.webhooks import (
    CHANNEL,
    WebhookSender,
    load_secrets,
    queue_feed_change,
    webhook_rules,
)
from certsvc.logging import get_logger
from certsvc.notify.drain import OutboxDrainer, SenderRegistry
from certsvc.storage.db import SessionFactory, transaction

log = get_logger("certsvc.gateway")
PRUNE_EVERY_SECONDS = 3600.0
FEED_LAG_ALARM_SECONDS = 10.0
WEBHOOK_DRAIN_SECONDS = 1.0
CA_CHECK_SECONDS = 30.0


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
        self.allowlist = AllowlistIndex()
        self.exports = Exports(self.allowlist)
        max_age = settings.gateway.max_view_age_seconds
        self.checker = Checker(self.allowlist, clock, self.metrics, max_age)
        self.access = FeedAccess(settings.gateway.require_token)
        self._last_poll = time.monotonic()
        self._next_prune = 0.0
        self._announced = -1
        self._ca_checked: tuple[float, list[str]] | None = None

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

    @cached_property
    def ocsp(self) -> OCSPResponder:
        validity = timedelta(minutes=self.settings.gateway.ocsp_validity_minutes)
        return OCSPResponder(self.sessions, self.publisher.adapter, self.clock, validity)

    def poll_once(self) -> None:
        """One round: reload the feed tokens, follow the feed, rebuild CRLs when due."""
        with self.sessions() as session:
            self.access.load(session)  # first: the allowlist is never served before its tokens
            applied = self.allowlist.follow(session)
        self.checker.viewed()
        self.access.record_use(self.sessions, self.clock.now())
        self._last_poll = time.monotonic()
        if applied:
            self.crls.request_rebuild()
        self._announce()
        self.metrics.feed_version.set(self.allowlist.version)
        self.metrics.allowlist_entries.set(len(self.allowlist.by_sha256))
        self.crls.tick()
        if time.monotonic() >= self._next_prune:
            self.prune_changes()

    @cached_property
    def webhooks(self) -> WebhookSender:
        """The webhook sender; building it checks the secrets (ConfigError when unusable)."""
        config = self.settings.webhooks
        return WebhookSender(load_secrets(self.settings), config.timeout_seconds)

    def _announce(self) -> None:
        """Queue a webhook per URL for a version not announced yet (first poll included)."""
        urls, version = self.settings.webhooks.urls, self.allowlist.version
        if not urls or version == self._announced:
            return
        try:
            with transaction(self.sessions) as session:
                queue_feed_change(session, urls, version, self.clock.now())
        except IntegrityError:
            pass  # another instance queued the same version at the same moment
        self._announced = version

    @cached_property
    def webhook_drain(self) -> OutboxDrainer:
        """The outbox drain for channel ``webhook`` only: serving instances push within
        seconds, while mail keeps the scheduler's slower drain."""
        senders = SenderRegistry()
        senders.register(CHANNEL, self.webhooks)
        rules = webhook_rules(self.settings.outbox)
        return OutboxDrainer(self.sessions, self.clock, senders, rules)

    def deliver_webhooks(self) -> None:
        """Send the webhook messages due, counting outcomes."""
        report = self.webhook_drain.drain()
        self.metrics.webhooks.labels("sent").inc(report.sent)
        self.metrics.webhooks.labels("failed").inc(report.failed + report.retried)
        if report.failed or report.retried:
            log.warning("webhook.delivery_failed", failed=report.failed, retried=report.retried)

    def prune_changes(self) -> int:
        """Trim the change log to ``[gateway] changes_keep_days`` (hourly; cheap when idle)."""
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        keep = timedelta(days=self.settings.gateway.changes_keep_days)
        with transaction(self.sessions) as session:
            return prune(session, self.clock.now(), keep)

    def problems(self) -> list[str]:
        """Why this instance is not ready to serve gateways (empty when it is)."""
        found = [f"CRL of {ca} is past its nextUpdate" for ca in self.crls.stale()]
        found += self.ca_problems()
        if not self.allowlist.loaded:
            found.append("the allowlist is still loading")
        lag = time.monotonic() - self._last_poll
        if self.allowlist.loaded and lag > FEED_LAG_ALARM_SECONDS:
            found.append(f"the feed was last read {lag:.0f} s ago")
        return found

    def ca_problems(self) -> list[str]:
        """CA keys that do not open or match the recorded CA, CRLs it did not sign (kept
        for ``CA_CHECK_SECONDS``: opening a key is too slow for every probe)."""
        now = time.monotonic()
        if self._ca_checked is None or now - self._ca_checked[0] > CA_CHECK_SECONDS:
            files = self.crls.served()
            problems = readiness_problems(self.publisher.adapter, self.publisher, files)
            self._ca_checked = (now, problems)
        return self._ca_checked[1]

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the feed (and send webhooks, when configured) until ``stop`` is set."""
        loops = [self._every(self.poll_once, self.settings.gateway.poll_seconds, stop)]
        if self.settings.webhooks.urls:
            self.webhooks  # noqa: B018 - unusable secrets fail at start, not in the loop
            loops.append(self._every(self.deliver_webhooks, WEBHOOK_DRAIN_SECONDS, stop))
        await asyncio.gather(*loops)

    async def _every(self, work: Callable[[], None], interval: float, stop: asyncio.Event) -> None:
        """Run ``work`` in a thread every ``interval``; a failing round is logged, never fatal."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(work)
            except Exception as error:  # the loop must outlive any one failure
                self.metrics.feed_poll_errors.inc()
                log.error("gateway.round_failed", work=work.__name__, error=str(error))
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

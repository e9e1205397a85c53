"""Prometheus metrics of the gateway feed, in a registry per app (no process globals).

Tests build many apps in one process; a registry each keeps their numbers apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

CHECK_RESULTS = ("allowed", "denied", "bad_request", "unauthorized", "stale")


class GatewayMetrics:
    """The numbers an operator alerts on: stale CRLs, feed lag, refused checks, webhooks."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.checks = self._counter("gateway_checks", "auth_request checks by result", "result")
        self.check_result = {result: self.checks.labels(result) for result in CHECK_RESULTS}
        self.feed_version = self._gauge("feed_version", "feed version this instance serves")
        self.allowlist_entries = self._gauge("allowlist_entries", "allowlist entries in memory")
        self.feed_poll_errors = self._counter("feed_poll_errors", "failed background rounds")
        self.crl_next_update = self._gauge(
            "crl_next_update_timestamp_seconds", "nextUpdate of the CRL served", "ca"
        )
        self.crl_number = self._gauge("crl_number", "CRL number served", "ca")
        self.crl_stale = self._gauge(
            "crl_stale", "1 when the CRL served is past nextUpdate (gateways refuse all)", "ca"
        )
        self.crl_refresh_errors = self._counter("crl_refresh_errors", "failed CRL rebuilds")
        self.webhooks = self._counter("webhook_deliveries", "webhook deliveries", "outcome")

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(f"certsvc_{name}", documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(f"certsvc_{name}", documentation, labels, registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)

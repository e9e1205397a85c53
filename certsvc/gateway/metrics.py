"""Prometheus metrics of the gateway feed, in a registry per app (no process globals).

Tests build many apps in one process; a registry each keeps their numbers apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

CHECK_RESULTS = ("allowed", "denied", "bad_request")


class GatewayMetrics:
    """The numbers an operator alerts on: stale CRLs, feed lag, refused checks, webhooks."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.checks = Counter(
            "certsvc_gateway_checks", "auth_request checks by result", ["result"], registry=registry
        )
        self.check_result = {result: self.checks.labels(result) for result in CHECK_RESULTS}
        self.feed_version = Gauge(
            "certsvc_feed_version", "feed version this instance serves", registry=registry
        )
        self.allowlist_entries = Gauge(
            "certsvc_allowlist_entries",
            "certificates in the in-memory allowlist",
            registry=registry,
        )
        self.feed_poll_errors = Counter(
            "certsvc_feed_poll_errors", "failed polls of the feed version", registry=registry
        )
        self.crl_next_update = Gauge(
            "certsvc_crl_next_update_timestamp_seconds",
            "nextUpdate of the CRL served, per CA",
            ["ca"],
            registry=registry,
        )
        self.crl_number = Gauge(
            "certsvc_crl_number", "CRL number served, per CA", ["ca"], registry=registry
        )
        self.crl_stale = Gauge(
            "certsvc_crl_stale",
            "1 when the CRL served is past its nextUpdate (gateways refuse every client)",
            ["ca"],
            registry=registry,
        )
        self.crl_refresh_errors = Counter(
            "certsvc_crl_refresh_errors", "failed CRL rebuilds", registry=registry
        )
        self.webhooks = Counter(
            "certsvc_webhook_deliveries",
            "webhook delivery attempts",
            ["outcome"],
            registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Prometheus collector of the service's state: certificates, lifecycle actions, outbox,
CRLs, CA expiry and the nightly run, computed from the database at each scrape.

Counters come from the audit trail (every change writes one event), so they survive
restarts and agree between instances; see ``certsvc.storage.stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from certsvc.clock import Clock
from certsvc.errors import CertsvcError
from certsvc.logging import get_logger
from certsvc.storage.db import SessionFactory
from certsvc.storage.stats import ServiceStats, read_stats

LIFECYCLE_ACTIONS = {
    "certificate.issue": "issuances",
    "certificate.renew": "renewals",
    "certificate.reissue": "reissues",
    "certificate.collect": "pickups",
    "credentials.locked": "credential_locks",
}
log = get_logger("certsvc.metrics")
CAExpiry = Callable[[], Sequence[tuple[str, datetime]]]


def _gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"certsvc_{name}", documentation, labels=labels)


class ServiceCollector(Collector):
    """Reads one ``ServiceStats`` per scrape and turns it into metric families."""

    def __init__(self, sessions: SessionFactory, clock: Clock, ca_expiry: CAExpiry) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ca_expiry = ca_expiry

    def collect(self) -> Iterator[Metric]:
        """The service's numbers; a database or CA failure leaves its families out (and
        ``certsvc_service_metrics_up`` 0) instead of failing the scrape: that is when the
        gateway feed's metrics matter most."""
        now = self._clock.now()
        up = _gauge("service_metrics_up", "1 when the database and the CA could be read")
        try:
            with self._sessions() as session:
                stats = read_stats(session, now)
            chain = list(self._ca_expiry())
        except (SQLAlchemyError, CertsvcError) as exc:
            log.warning("metrics.service_unreadable", error=f"{type(exc).__name__}: {exc}")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self._certificates(stats)
        yield from self._actions(stats)
        yield from self._outbox(stats, now)
        yield from self._crls(stats, now)
        yield from self._jobs(stats)
        expiry = _gauge("ca_not_after_timestamp_seconds", "notAfter of each CA", ["ca"])
        for name, not_after in chain:
            expiry.add_metric([name], not_after.timestamp())
        yield expiry

    def _certificates(self, stats: ServiceStats) -> Iterator[Metric]:
        states = _gauge("certificates", "certificates by state", ["state"])
        for state, count in sorted(stats.by_state.items()):
            states.add_metric([state], count)
        yield states
        expiring = _gauge("certificates_expiring", "issued, notAfter within N days", ["days"])
        for days, count in sorted(stats.expiring_within.items()):
            expiring.add_metric([str(days)], count)
        yield expiring
        revoked = CounterMetricFamily(
            "certsvc_revocations", "revoked certificates by reason", labels=["reason"]
        )
        for reason, count in sorted(stats.revocations.items()):
            revoked.add_metric([reason], count)
        yield revoked

    def _actions(self, stats: ServiceStats) -> Iterator[Metric]:
        for action, name in LIFECYCLE_ACTIONS.items():
            family = CounterMetricFamily(f"certsvc_{name}", f"audited {action}", labels=["outcome"])
            for (seen, outcome), count in sorted(stats.actions.items()):
                if seen == action:
                    family.add_metric([outcome], count)
            yield family
        locked = _gauge("credentials_locked", "pickup credentials locked now")
        locked.add_metric([], stats.locked_credentials)
        failed = _gauge("credential_failed_attempts", "failed pickup logins not yet reset")
        failed.add_metric([], stats.failed_attempts)
        yield from (locked, failed)

    def _outbox(self, stats: ServiceStats, now: datetime) -> Iterator[Metric]:
        depth = _gauge("outbox_queued", "messages waiting to be sent")
        depth.add_metric([], stats.outbox_queued)
        age = _gauge("outbox_oldest_age_seconds", "age of the oldest unsent message (0: none)")
        oldest = stats.oldest_queued
        age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        yield from (depth, age)

    def _crls(self, stats: ServiceStats, now: datetime) -> Iterator[Metric]:
        age = _gauge("crl_age_seconds", "seconds since the newest CRL's thisUpdate", ["ca"])
        left = _gauge("crl_seconds_to_next_update", "seconds until nextUpdate (<0: stale)", ["ca"])
        root = _gauge(
            "root_crl_seconds_to_next_update",
            "the root CRL's (an offline root's"
            " is imported: renew it in the ceremony before this reaches 0)",
        )
        for crl in stats.crls:
            age.add_metric([crl.ca_name], (now - crl.this_update).total_seconds())
            left.add_metric([crl.ca_name], (crl.next_update - now).total_seconds())
            if crl.ca_name == "root":
                root.add_metric([], (crl.next_update - now).total_seconds())
        yield from (age, left, root)

    def _jobs(self, stats: ServiceStats) -> Iterator[Metric]:
        last = _gauge("job_last_run_timestamp_seconds", "end of the last run", ["job"])
        failed = _gauge("job_last_run_errors", "failed steps of the last run (0: ok)", ["job"])
        for job in stats.jobs:
            last.add_metric([job.job], job.finished_at.timestamp())
            failed.add_metric([job.job], job.failures)
        yield from (last, failed)

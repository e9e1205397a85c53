"""The CRLs a serving instance hands out, kept in memory and rebuilt in time.

A revocation anywhere (CLI, another instance) shows up as a feed change; the feed
watcher then asks for a rebuild, debounced so a burst of revocations costs one CRL.
Every tick also lets ``CRLPublisher.current()`` publish a CRL whose nextUpdate is near.
A CRL past its nextUpdate locks every client out of the gateway, so that state is an
alarm: an error log line, the ``certsvc_crl_stale`` metric and a failing ``/readyz``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError, OperationalError

from certsvc.clock import Clock
from certsvc.errors import CertsvcError
from certsvc.feed.crl import CRLPublisher
from certsvc.feed.crl_store import CRLFile
from certsvc.feed.metrics import GatewayMetrics
from certsvc.logging import get_logger

log = get_logger("certsvc.gateway.crl")


@dataclass(frozen=True)
class ServedCRL:
    """One document of ``/crl/``: its bytes and the validators of a conditional GET."""

    body: bytes
    etag: str
    last_modified: datetime
    next_update: datetime


@dataclass(frozen=True)
class CRLSet:
    """Every CA's CRL as DER and PEM, and the PEM bundle a gateway's ``ssl_crl`` loads."""

    files: tuple[CRLFile, ...]
    documents: dict[str, ServedCRL]

    @classmethod
    def of(cls, files: list[CRLFile]) -> CRLSet:
        documents: dict[str, ServedCRL] = {}
        for crl in files:
            tag = f"{crl.ca_name}-{crl.number}"
            documents[f"{crl.ca_name}.crl"] = ServedCRL(
                crl.der, f'"{tag}-der"', crl.this_update, crl.next_update
            )
            documents[f"{crl.ca_name}.pem"] = ServedCRL(
                crl.pem, f'"{tag}-pem"', crl.this_update, crl.next_update
            )
        if files:
            tags = ".".join(f"{crl.ca_name}-{crl.number}" for crl in files)
            documents["bundle.pem"] = ServedCRL(
                b"".join(crl.pem for crl in files),
                f'"bundle.{tags}"',
                max(crl.this_update for crl in files),
                min(crl.next_update for crl in files),
            )
        return cls(tuple(files), documents)


class CRLRefresher:
    """Holds the current CRLs; rebuilds on demand (debounced) and when due."""

    def __init__(
        self,
        publisher: CRLPublisher,
        clock: Clock,
        metrics: GatewayMetrics,
        debounce_seconds: float,
        check_seconds: float,
    ) -> None:
        self.publisher = publisher
        self.clock = clock
        self.metrics = metrics
        self.debounce_seconds = debounce_seconds
        self.check_seconds = check_seconds
        self._current: CRLSet | None = None
        self._lock = threading.Lock()
        self._due_at: float | None = None
        self._next_check = 0.0
        self._alarmed: set[str] = set()

    def current(self) -> CRLSet:
        """The CRLs to serve, loading them on first use."""
        return self._current if self._current is not None else self.refresh()

    def served(self) -> tuple[CRLFile, ...]:
        """The CRLs being served now (none before the first refresh)."""
        return self._current.files if self._current is not None else ()

    def request_rebuild(self) -> None:
        """A revocation may have happened: rebuild after the debounce delay."""
        if self._due_at is None:
            self._due_at = time.monotonic() + self.debounce_seconds

    def tick(self) -> None:
        """Rebuild when a requested rebuild or the periodic check is due; then check age."""
        now = time.monotonic()
        if (self._due_at is not None and now >= self._due_at) or now >= self._next_check:
            try:
                self.refresh()
            except (CertsvcError, OperationalError, IntegrityError) as error:
                self.metrics.crl_refresh_errors.inc()
                log.error("crl.refresh_failed", error=str(error))
                self._next_check = now + min(self.check_seconds, 5.0)
        self.stale()

    def refresh(self) -> CRLSet:
        """Ask the publisher for every CA's CRL (publishing when due) and swap them in."""
        with self._lock:
            self._due_at = None
            self._next_check = time.monotonic() + self.check_seconds
            files = self._publish()
            crls = CRLSet.of(files)
            self._current = crls
        for crl in files:
            self.metrics.crl_number.labels(crl.ca_name).set(crl.number)
            self.metrics.crl_next_update.labels(crl.ca_name).set(crl.next_update.timestamp())
        return crls

    def _publish(self) -> list[CRLFile]:
        """Two instances may publish the same number at once: ``current`` re-reads."""
        return self.publisher.current()

    def stale(self) -> list[str]:
        """CAs whose served CRL is past nextUpdate; raises the alarm once per CRL."""
        if self._current is None:
            return []
        now = self.clock.now()
        stale = []
        for crl in self._current.files:
            is_stale = now >= crl.next_update
            self.metrics.crl_stale.labels(crl.ca_name).set(1 if is_stale else 0)
            key = f"{crl.ca_name}-{crl.number}"
            if is_stale:
                stale.append(crl.ca_name)
                if key not in self._alarmed:
                    self._alarmed.add(key)
                    log.error(
                        "crl.stale",
                        ca=crl.ca_name,
                        number=crl.number,
                        next_update=crl.next_update.isoformat(),
                        detail="gateways refuse every client until a fresh CRL is published",
                    )
        return stale

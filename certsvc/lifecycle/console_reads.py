"""What the helpdesk console reads: search, dashboard figures, audit, a certificate's chain.

The pages may not touch the ORM (an import contract), so the console's reads live here,
over the same storage functions and the same tenant scope as the API; every change the
console makes goes through ``Lifecycle``, ``Pickups``, ``Accounts`` and ``Directory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certsvc import audit
from certsvc.audit import AuditFilter
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.lifecycle.operations import Lifecycle, list_views
from certsvc.lifecycle.views import CertificateView
from certsvc.storage.dashboard import Dashboard, TenantFigures, dashboard
from certsvc.storage.db import SessionFactory
from certsvc.storage.queries import CertificateFilter
from certsvc.storage.search import SearchPage, SearchQuery, SearchRow, SortKey, search

__all__ = [
    "ConsoleReads",
    "Dashboard",
    "History",
    "SearchPage",
    "SearchQuery",
    "SearchRow",
    "SortKey",
    "TenantFigures",
]
MAX_CHAIN = 100


@dataclass(frozen=True)
class History:
    """A certificate, its predecessors and successors (oldest first) and their events."""

    certificate: CertificateView
    chain: tuple[CertificateView, ...]
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ConsoleReads:
    sessions: SessionFactory
    clock: Clock
    settings: Settings
    lifecycle: Lifecycle

    def search(self, query: SearchQuery) -> SearchPage:
        with self.sessions() as session:
            return search(session, query)

    def dashboard(self, scope: str | None) -> Dashboard:
        now = self.clock.now()
        with self.sessions() as session:
            return dashboard(session, now.astimezone(self.settings.zone).date(), now, scope)

    def audit(self, wanted: AuditFilter) -> list[dict[str, Any]]:
        """Matching events, oldest first, their times in the business zone."""
        with self.sessions() as session:
            events = audit.query(session, wanted)
        zone = self.settings.zone
        for event in events:
            event["at"] = datetime.fromisoformat(event["at"]).astimezone(zone).isoformat()
        return events

    def history(self, serial: str) -> History:
        """The chain a helpdesk follows (as ``GET .../history`` walks it) and its audit."""
        view = self.lifecycle.show(serial)
        chain = [view]
        while chain[0].replaces and len(chain) < MAX_CHAIN:
            chain.insert(0, self.lifecycle.show(chain[0].replaces))
        while chain[-1].superseded_by and len(chain) < 2 * MAX_CHAIN:
            chain.append(self.lifecycle.show(chain[-1].superseded_by))
        serials = tuple(item.serial for item in chain if item.serial)
        events = self.audit(AuditFilter(serials=serials, limit=10_000))
        return History(view, tuple(chain), tuple(events))

    def certificates_of(self, company_number: str, user_id: str) -> list[CertificateView]:
        """A subscriber's certificates, oldest first."""
        wanted = CertificateFilter(company_number=company_number, text=user_id)
        found = list_views(self.lifecycle, wanted)
        return [view for view in found if view.user_id == user_id]

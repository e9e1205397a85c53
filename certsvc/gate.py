"""The one place where changes meet the maintenance window, below every edge.

The lifecycle, the directory and the credential operations ask the gate before they
change anything, so the CLI (exit 7), the HTTP API (503 + Retry-After) and any page give
the same answer from the same rule; reads and the gateway feed never ask. An operator's
``--force`` (``Actor.force``) passes an open window, and an audit event says who forced
what, under which ticket, before the change itself runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from certsvc import audit
from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.domain.maintenance import MaintenanceCalendar
from certsvc.storage.db import SessionFactory, transaction


@dataclass(frozen=True)
class ChangeGate:
    """Refuses changes while the maintenance window is open."""

    sessions: SessionFactory
    calendar: MaintenanceCalendar
    clock: Clock

    @classmethod
    def of(cls, sessions: SessionFactory, settings: Settings, clock: Clock) -> ChangeGate:
        """The gate of the configured window (``[maintenance]``, business zone)."""
        return cls(sessions, MaintenanceCalendar(settings.maintenance, settings.zone), clock)

    def admit(self, by: Actor, action: str) -> None:
        """Let a change named ``action`` through, or refuse it.

        :raises MaintenanceWindow: the window is open and ``by`` did not force it.
        """
        now = self.clock.now()
        if not by.force:
            self.calendar.guard(now)
            return
        window = self.calendar.window_at(now)
        if window is None:
            return
        with transaction(self.sessions) as session:
            audit.record(
                session,
                by,
                "maintenance.forced",
                now,
                after={"action": action, "window_ends_at": window.ends_at.isoformat()},
            )

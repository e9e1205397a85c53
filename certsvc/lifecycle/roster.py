"""``certsvc import subscribers CSV``: the users of existing tenants, from a CSV file.

Columns (header row): ``company_number, user_id, email``, optional ``display_name``,
``role`` (officer | staff), ``locale`` (ja | en), ``needs_certificate`` (yes | no).
Every row is checked first; with any bad row nothing is written. A subscriber that
already exists is skipped and counted, so the same file can be imported again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.clock import Clock
from certsvc.config import Settings
from certsvc.directory import NewSubscriber, add_subscriber
from certsvc.domain import identifiers
from certsvc.domain.imports import iter_rows
from certsvc.errors import CertsvcError, InputError
from certsvc.gate import ChangeGate
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Subscriber, Tenant

REQUIRED = ("company_number", "user_id", "email")
YES, NO = ("yes", "true", "1", ""), ("no", "false", "0")


@dataclass
class RosterReport:
    """What a subscriber import did (or, in a dry run, would do)."""

    added: list[str] = field(default_factory=list)
    known: int = 0
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "subscribers": self.added,
            "skipped_known": self.known,
            "errors": self.errors,
            "dry_run": self.dry_run,
        }


class SubscriberImport:
    """Check every row, then add the new subscribers in one transaction."""

    def __init__(self, sessions: SessionFactory, clock: Clock, settings: Settings) -> None:
        self.sessions = sessions
        self.clock = clock
        self.gate = ChangeGate.of(sessions, settings, clock)

    def run(
        self,
        text: str,
        by: Actor,
        *,
        dry_run: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> RosterReport:
        if not dry_run:
            self.gate.admit(by, "subscriber.import")
        report = RosterReport(dry_run=dry_run)
        planned: list[NewSubscriber] = []
        with self.sessions() as session:
            seen: set[tuple[str, str]] = set()
            for line, row in iter_rows(text, REQUIRED):
                if progress is not None:
                    progress(1)
                try:
                    new = _subscriber_of(row)
                    key = (new.company_number, new.user_id)
                    if key in seen:
                        raise InputError(f"{key[0]}/{key[1]} appears twice")
                    seen.add(key)
                    if _exists(session, new):
                        report.known += 1
                        continue
                except CertsvcError as exc:
                    report.errors.append(f"line {line}: {exc}")
                    continue
                planned.append(new)
        if report.errors:
            return report
        report.added = [f"{new.company_number}/{new.user_id}" for new in planned]
        if dry_run:
            return report
        with transaction(self.sessions) as session:
            now = self.clock.now()
            for new in planned:
                add_subscriber(session, new, by, now)
        return report


def _subscriber_of(row: dict[str, str]) -> NewSubscriber:
    identifiers.company_number(row["company_number"])
    needs = row.get("needs_certificate", "").lower()
    if needs not in YES + NO:
        raise InputError(f"needs_certificate must be yes or no, not {needs!r}")
    return NewSubscriber(
        row["company_number"],
        row["user_id"],
        row["email"],
        row.get("display_name", ""),
        needs in YES,
        row.get("role") or "staff",
        row.get("locale") or "ja",
    )


def _exists(session: Session, new: NewSubscriber) -> bool:
    """Known already (skipped); an unknown tenant, or a bad value, is an error."""
    tenant = session.scalar(select(Tenant.id).where(Tenant.company_number == new.company_number))
    if tenant is None:
        raise InputError(f"tenant {new.company_number} is unknown")
    identifiers.user_id(new.user_id)
    identifiers.email(new.email)
    identifiers.display_name(new.display_name)
    if new.role not in ("officer", "staff") or new.locale not in ("ja", "en"):
        raise InputError("role must be officer or staff, locale ja or en")
    found = session.scalar(
        select(Subscriber.id).where(
            Subscriber.tenant_id == tenant, Subscriber.user_id == new.user_id
        )
    )
    return found is not None

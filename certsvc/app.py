"""The composition root: builds certsvc's parts from settings, once, for the CLI or HTTP.

Nothing here is a module-level singleton; each entry point builds its own ``Services``
and hands the parts down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from ca_adapters.base import AdapterContext, CAAdapter, CertificateURLs, CRLSigner
from ca_adapters.registry import load_adapter, refuse_unknown_tables
from certsvc.access.accounts import Accounts
from certsvc.access.credentials import Secrets, load_pepper
from certsvc.access.idempotency import IdempotencyStore
from certsvc.access.operators import Operators
from certsvc.access.sessions import ConsoleSessions
from certsvc.access.tokens import Tokens
from certsvc.clock import Clock, SystemClock, SystemTimer, Timer
from certsvc.config import Settings
from certsvc.directory import Directory
from certsvc.domain.maintenance import MaintenanceCalendar
from certsvc.domain.public_address import certificate_links
from certsvc.feed.crl import CRLPublisher
from certsvc.feed.runtime import Gateway
from certsvc.gate import ChangeGate
from certsvc.lifecycle.operations import Lifecycle
from certsvc.lifecycle.pickup import Pickups
from certsvc.lifecycle.pickup_admin import PickupAdmin
from certsvc.notify.drain import OutboxDrainer, SenderRegistry
from certsvc.notify.retry import OutboxRetry
from certsvc.notify.smtp import MailSender
from certsvc.notify.templates import MailRenderer
from certsvc.storage.ca_ledger import DatabaseLedger
from certsvc.storage.db import (
    SessionFactory,
    make_engine,
    migrate,
    schema_revision,
    session_factory,
)


@dataclass
class Services:
    """Lazily built parts: opening the database or the CA key only when a command needs it."""

    settings: Settings
    clock: Clock = SystemClock()  # noqa: RUF009 - stateless
    timer: Timer = SystemTimer()  # noqa: RUF009 - stateless

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> SessionFactory:
        return session_factory(self.engine)

    def certificate_urls(self) -> CertificateURLs:
        """The CRL, OCSP and CA-issuer URLs that go into certificates (one public address)."""
        links = certificate_links(self.settings)
        return CertificateURLs(links.crl_url, links.ocsp_url, links.base_url, links.refused)

    @cached_property
    def adapter(self) -> CAAdapter:
        """The configured adapter, given its own ``[ca.<name>]`` table and a narrow ledger."""
        name = self.settings.ca.adapter
        context = AdapterContext(
            options=self.settings.ca.options(name),
            clock=self.clock,
            ledger=DatabaseLedger(self.sessions, self.clock),
            home=self.settings.home_dir,
            zone=self.settings.zone,
            urls=self.certificate_urls(),
            timer=self.timer,
        )
        refuse_unknown_tables(self.settings.ca.tables, name)
        return load_adapter(name, context)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.sessions, self.adapter, self.clock, self.settings)

    @cached_property
    def directory(self) -> Directory:
        return Directory(
            self.sessions, self.clock, ChangeGate.of(self.sessions, self.settings, self.clock)
        )

    @cached_property
    def crls(self) -> CRLPublisher:
        return CRLPublisher(
            self.sessions, self.adapter, self.clock, self.settings.crl, self.settings.crl_mirror
        )

    @cached_property
    def maintenance(self) -> MaintenanceCalendar:
        return MaintenanceCalendar(self.settings.maintenance, self.settings.zone)

    @cached_property
    def gateway(self) -> Gateway:
        return Gateway(self.settings, self.clock, self.sessions, self.crls)

    @cached_property
    def secrets(self) -> Secrets:
        """Password hashing and keyed hashes under the server's pepper (made on first use)."""
        path = self.settings.path(self.settings.credentials.pepper_file, "credentials.pepper")
        path.parent.mkdir(parents=True, exist_ok=True)
        return Secrets.from_settings(self.settings.credentials, load_pepper(path))

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.sessions, self.clock, self.settings, self.secrets)

    @cached_property
    def operators(self) -> Operators:
        return Operators(self.sessions, self.clock, self.settings, self.secrets)

    @cached_property
    def console_sessions(self) -> ConsoleSessions:
        return ConsoleSessions(self.sessions, self.clock, self.settings, self.secrets)

    @cached_property
    def pickups(self) -> Pickups:
        return Pickups(self.sessions, self.clock, self.settings, self.lifecycle, self.accounts)

    @cached_property
    def pickup_admin(self) -> PickupAdmin:
        return PickupAdmin(self.sessions, self.clock, self.lifecycle.gate)

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self.sessions, self.clock)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.sessions, self.clock, self.secrets.pepper)

    @cached_property
    def mail_renderer(self) -> MailRenderer:
        override = self.settings.mail.templates_dir
        directory = str(self.settings.path(override, "")) if override else ""
        return MailRenderer(self.settings.zone, self.settings.reminders.renewal_url, directory)

    @cached_property
    def senders(self) -> SenderRegistry:
        """One sender per outbox channel; register a new channel here (one line)."""
        registry = SenderRegistry()
        registry.register("mail", MailSender(self.settings.mail, self.mail_renderer, self.clock))
        return registry

    @cached_property
    def outbox(self) -> OutboxDrainer:
        return OutboxDrainer(self.sessions, self.clock, self.senders, self.settings.outbox)

    @cached_property
    def outbox_retry(self) -> OutboxRetry:
        gate = ChangeGate.of(self.sessions, self.settings, self.clock)
        return OutboxRetry(self.sessions, self.clock, gate)

    def close(self) -> None:
        """Dispose of the engine's pooled connections, if one was opened."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def migrate(self) -> tuple[str, str]:
        """Migrate the schema only; the revisions before and after."""
        self.settings.home_dir.mkdir(parents=True, exist_ok=True)
        before = schema_revision(self.engine)
        migrate(self.engine)
        return before, schema_revision(self.engine)

    def open_ca(self) -> None:
        """Open every CA key certsvc signs with now: a node without the database's CA key,
        or with another CA's, refuses to start instead of failing its first request."""
        source = self.adapter.revocation_source()
        if isinstance(source, CRLSigner):
            for name in source.ca_names():
                source.ca_certificate(name)

    def initialise(self) -> list[str]:
        """Create the data directory, migrate the database, prepare the CA."""
        self.settings.home_dir.mkdir(parents=True, exist_ok=True)
        migrate(self.engine)
        return [
            f"database ready: {self.engine.url.render_as_string(hide_password=True)}",
            *self.adapter.ensure_ready(),
        ]

"""Publishing CRLs: numbered, stored, refreshed when due, pruned of expired entries.

Full CRLs only (gateways ignore deltas), one per CA of the chain (a gateway needs one for
the root too), thisUpdate backdated because OpenSSL allows no clock skew, and each
expired certificate dropped once it has appeared on one CRL issued after its expiry
(RFC 5280 §3.3) so the CRL every handshake re-verifies stays small.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from cryptography import x509
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ca_adapters.base import CAAdapter, CRLSigner, MirroredCRL, RevokedEntry
from certsvc.clock import Clock
from certsvc.config import CRLMirrorSettings, CRLSettings
from certsvc.domain.certificates import CertState
from certsvc.domain.policy import RevocationReason
from certsvc.errors import ConfigError
from certsvc.feed.crl_mirror import CRLMirror
from certsvc.feed.crl_store import CRLFile, as_file, latest
from certsvc.feed.root_crl import imported_names, served_as_imported
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, PublishedCRL

FETCH_BATCH = 10_000
PUBLISH_ATTEMPTS = 3
"""Instances publishing the same CRL number at once: the loser reads the winner's."""


def needs_refresh(
    session: Session, crl: PublishedCRL | None, now: datetime, rules: CRLSettings
) -> bool:
    """Due when missing, near nextUpdate, or older than the last revocation."""
    if crl is None or now >= crl.next_update - timedelta(hours=rules.refresh_before_hours):
        return True
    last_revocation = session.scalar(
        select(func.max(Certificate.revoked_at)).where(Certificate.revoked_at.is_not(None))
    )
    return last_revocation is not None and last_revocation >= crl.built_at


def publish(
    session: Session,
    signer: CRLSigner,
    ca_name: str,
    now: datetime,
    rules: CRLSettings,
    at_least: int = 1,
) -> CRLFile:
    """Sign and store the next CRL of ``ca_name`` (numbered ``at_least`` or higher)."""
    previous = latest(session, ca_name)
    number = max(previous.number + 1 if previous else 1, at_least)
    this_update = now.replace(microsecond=0) - timedelta(seconds=rules.backdate_seconds)
    next_update = this_update + timedelta(hours=rules.validity_hours)
    with _paused_gc():
        entries = list(_revoked_entries(session, ca_name))
        der = signer.sign_crl(ca_name, entries, number, this_update, next_update)
    session.add(
        PublishedCRL(
            ca_name=ca_name,
            number=number,
            this_update=this_update,
            next_update=next_update,
            built_at=now,
            entries=len(entries),
            der=der,
        )
    )
    _retire_expired_entries(session, ca_name, this_update)
    return CRLFile(ca_name, number, this_update, next_update, der)


def current(
    session: Session, signer: CRLSigner, now: datetime, rules: CRLSettings
) -> list[CRLFile]:
    """Every CA's CRL, publishing a new one where the stored one is due."""
    files = []
    imported = imported_names(signer)
    for ca_name in signer.ca_names():
        if ca_name in imported:  # signed offline: served as imported, never re-signed
            files.append(served_as_imported(session, ca_name))
            continue
        stored = latest(session, ca_name)
        if stored is None or needs_refresh(session, stored, now, rules):
            files.append(publish(session, signer, ca_name, now, rules))
        else:
            files.append(as_file(stored))
    return files


def gateway_chain(adapter: CAAdapter) -> list[x509.Certificate]:
    """Every CA a gateway must trust: each issuing CA still signing (after a rollover the
    older one too, until its last certificate expires), then the root."""
    source = adapter.revocation_source()
    if not isinstance(source, CRLSigner):
        return adapter.trust_chain()
    root = adapter.trust_chain()[-1]
    below = [source.ca_certificate(name) for name in source.ca_names()]
    return [*reversed([each for each in below if each != root]), root]


def bundle_pem(files: list[CRLFile]) -> bytes:
    """The concatenated PEM CRLs a gateway's ``ssl_crl`` takes."""
    return b"".join(crl_file.pem for crl_file in files)


_REVOKED = text(
    "SELECT serial, revoked_at, revocation_reason FROM certificates"
    " WHERE ca_name = :ca_name AND state = :revoked AND crl_final = :final"
)


def _revoked_entries(session: Session, ca_name: str) -> Iterator[RevokedEntry]:
    """Every entry the CRL must list, streamed in batches.

    A plain-text query returns the driver's own values: converting a million rows
    through the ORM's type layer would cost more than signing them.
    """
    statement = _REVOKED.execution_options(yield_per=FETCH_BATCH)
    rows = session.connection().execute(
        statement, {"ca_name": ca_name, "revoked": CertState.REVOKED.value, "final": False}
    )
    reasons = {reason.value: reason for reason in RevocationReason}
    for serial, revoked_at, reason in rows:
        yield RevokedEntry(int(serial, 16), _as_utc(revoked_at), reasons[reason])


def _as_utc(value: datetime | str) -> datetime:
    """SQLite hands back text, PostgreSQL an aware datetime: both become aware UTC."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


@contextmanager
def _paused_gc() -> Iterator[None]:
    """Building a CRL allocates an object per entry and frees none of them until the end:
    the cyclic collector would walk the growing heap again and again (superlinear time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _retire_expired_entries(session: Session, ca_name: str, this_update: datetime) -> None:
    """Entries of certificates expired before this CRL appear on it one last time."""
    session.execute(
        update(Certificate)
        .where(
            Certificate.ca_name == ca_name,
            Certificate.state == CertState.REVOKED,
            Certificate.crl_final.is_(False),
            Certificate.not_after < this_update,
        )
        .values(crl_final=True)
        .execution_options(synchronize_session=False)
    )


class CRLPublisher:
    """Serves the current CRLs: signed by certsvc, or mirrored from an external CA."""

    def __init__(
        self,
        sessions: SessionFactory,
        adapter: CAAdapter,
        clock: Clock,
        rules: CRLSettings,
        mirror_settings: CRLMirrorSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.adapter = adapter
        self.clock = clock
        self.rules = rules
        self.mirror_settings = mirror_settings or CRLMirrorSettings()

    def mirror(self) -> CRLMirror:
        return CRLMirror(self.sessions, self.adapter, self.clock, self.mirror_settings)

    def signer(self) -> CRLSigner:
        source = self.adapter.revocation_source()
        if not isinstance(source, CRLSigner):
            raise ConfigError(f"CA adapter {self.adapter.name!r} publishes its own CRLs")
        return source

    def publish_after_gap(self, gap: int, above: int = 0) -> list[CRLFile]:
        """A new CRL for every CA, numbered ``gap`` above the stored one and above ``above``
        (after a restore: gateways may hold CRLs published after the backup, and refuse a
        lower number).
        Mirrored CRLs keep the external CA's numbers: nothing to do for them."""
        if isinstance(self.adapter.revocation_source(), MirroredCRL):
            return []
        signer = self.signer()
        with transaction(self.sessions) as session:
            files = []
            imported = imported_names(signer)
            for ca_name in signer.ca_names():
                if ca_name in imported:
                    continue
                stored = latest(session, ca_name)
                floor = max((stored.number if stored else 0) + gap, above + 1)
                files.append(publish(session, signer, ca_name, self.clock.now(), self.rules, floor))
            return files

    def current(self) -> list[CRLFile]:
        """Every CA's CRL (root first): published when due, or the verified mirror copies.

        Two processes may publish the same CRL number at once (serving nodes, or
        ``gateway-config --dir`` beside a running ``serve``): the loser's transaction
        rolls back and it reads the winner's CRL instead of failing.
        """
        source = self.adapter.revocation_source()
        if isinstance(source, MirroredCRL):
            return self.mirror().current(source)
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                with transaction(self.sessions) as session:
                    return current(session, self.signer(), self.clock.now(), self.rules)
            except (IntegrityError, OperationalError):
                if attempt == PUBLISH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

"""Mirroring an external CA's CRLs: download, verify, keep the last good copy.

A gateway must never be handed a CRL that the CA did not sign, that is out of date, or
that is older than one it already had (a replayed CRL would un-revoke certificates).
So each download is checked against the adapter's trust chain, its nextUpdate and the
CRL number before it replaces the stored copy; when the CA's server is down or sends
garbage, the last good copy keeps being served and its staleness is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ca_adapters.base import CAAdapter, MirroredCRL
from certsvc.clock import Clock
from certsvc.config import CRLMirrorSettings
from certsvc.errors import CAUnavailable
from certsvc.feed.crl_store import CRLFile, as_file, latest
from certsvc.logging import get_logger
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, MirroredCRLSource, PublishedCRL

CLOCK_SKEW = timedelta(minutes=5)
log = get_logger(__name__)


@dataclass(frozen=True)
class MirrorStatus:
    """How one mirrored CRL stands: its good copy (if any), staleness, the last error."""

    url: str
    ca_name: str | None
    number: int | None
    next_update: datetime | None
    stale: bool
    error: str | None


class CRLRefused(Exception):
    """A downloaded CRL failed a check; the message says which."""


class CRLMirror:
    """Keeps verified copies of an external CA's CRLs in the ``crls`` table."""

    def __init__(
        self,
        sessions: SessionFactory,
        adapter: CAAdapter,
        clock: Clock,
        settings: CRLMirrorSettings,
    ) -> None:
        self.sessions = sessions
        self.adapter = adapter
        self.clock = clock
        self.settings = settings

    def current(self, source: MirroredCRL) -> list[CRLFile]:
        """The good copies (root first), refreshing those due; stale beats nothing."""
        statuses = self.refresh(source, force=False)
        missing = [status for status in statuses if status.number is None]
        if missing or not statuses:
            where = ", ".join(f"{s.url} ({s.error})" for s in missing) or "no CRL URL known"
            raise CAUnavailable(f"no good copy of the CA's CRL yet: {where}", self.adapter.name)
        names = [status.ca_name for status in statuses if status.ca_name]
        with self.sessions() as session:
            rows = [latest(session, name) for name in dict.fromkeys(names)]
        files = [as_file(row) for row in rows if row is not None]
        return sorted(files, key=lambda crl_file: crl_file.ca_name != "root")

    def refresh(self, source: MirroredCRL, *, force: bool = True) -> list[MirrorStatus]:
        """Download every CRL that is due (all when ``force``); report each one's state."""
        chain: list[x509.Certificate] | None = None
        statuses = []
        for url in source.urls:
            if force or self._due(url):
                chain = chain if chain is not None else self.adapter.trust_chain()
                self._fetch(url, chain)
            statuses.append(self.status_of(url))
        return statuses

    def status_of(self, url: str) -> MirrorStatus:
        now = self.clock.now()
        with self.sessions() as session:
            state = session.get(MirroredCRLSource, url)
            stored = latest(session, state.ca_name) if state and state.ca_name else None
        if stored is None:
            error = state.error if state else "never downloaded"
            return MirrorStatus(url, None, None, None, True, error)
        stale = now >= stored.next_update
        error = state.error if state else None
        return MirrorStatus(url, stored.ca_name, stored.number, stored.next_update, stale, error)

    def _due(self, url: str) -> bool:
        """Missing, failed, older than the refresh interval, expired, or a revocation since."""
        now = self.clock.now()
        with self.sessions() as session:
            state = session.get(MirroredCRLSource, url)
            if state is None or state.ca_name is None or state.error is not None:
                return True
            stored = latest(session, state.ca_name)
            last_revocation = session.scalar(
                select(func.max(Certificate.revoked_at)).where(Certificate.revoked_at.is_not(None))
            )
        return (
            stored is None
            or now >= stored.next_update
            or now >= state.checked_at + timedelta(minutes=self.settings.refresh_minutes)
            or (last_revocation is not None and last_revocation >= state.checked_at)
        )

    def _fetch(self, url: str, chain: list[x509.Certificate]) -> None:
        now = self.clock.now()
        try:
            crl = load_crl(self._download(url))
            ca_name = verify(crl, chain, now)
            self._store(url, crl, ca_name, now)
        except CRLRefused as exc:
            log.warning("crl.mirror_failed", url=url, error=str(exc))
            self._note(url, now, None, str(exc))

    def _download(self, url: str) -> bytes:
        http = requests.Session()
        http.trust_env = False  # a CRL URL is fetched directly, like a gateway would
        try:
            with http.get(url, timeout=self.settings.timeout_seconds, stream=True) as response:
                if response.status_code != 200:
                    raise CRLRefused(f"HTTP {response.status_code}")
                data = response.raw.read(self.settings.max_bytes + 1, decode_content=True)
        except requests.RequestException as exc:
            raise CRLRefused(f"download failed: {type(exc).__name__}") from exc
        if len(data) > self.settings.max_bytes:
            raise CRLRefused(f"larger than {self.settings.max_bytes} bytes")
        return bytes(data)

    def _store(
        self, url: str, crl: x509.CertificateRevocationList, ca_name: str, now: datetime
    ) -> None:
        number = crl_number(crl)
        with self.sessions() as session:
            stored = latest(session, ca_name)
        if stored is not None and number < stored.number:
            raise CRLRefused(f"CRL number {number} is older than the stored {stored.number}")
        if stored is None or number > stored.number:
            try:
                with transaction(self.sessions) as session:
                    session.add(_row(crl, ca_name, number, now))
            except IntegrityError:
                pass  # another instance stored the same CRL first
            log.info("crl.mirrored", url=url, ca=ca_name, number=number)
        self._note(url, now, ca_name, None)

    def _note(self, url: str, now: datetime, ca_name: str | None, error: str | None) -> None:
        with transaction(self.sessions) as session:
            state = session.get(MirroredCRLSource, url, with_for_update=True)
            if state is None:
                state = MirroredCRLSource(url=url, checked_at=now)
                session.add(state)
            state.checked_at, state.error = now, error
            if ca_name is not None:
                state.ca_name = ca_name


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CRLRefused("not a CRL (neither DER nor PEM)") from exc


def verify(
    crl: x509.CertificateRevocationList, chain: list[x509.Certificate], now: datetime
) -> str:
    """Check issuer, signature and freshness; return the name of the CA that signed it."""
    for index, certificate in enumerate(chain):
        if certificate.subject != crl.issuer:
            continue
        if not crl.is_signature_valid(certificate.public_key()):  # type: ignore[arg-type]
            raise CRLRefused(
                f"signature does not verify with {certificate.subject.rfc4514_string()}"
            )
        next_update = crl.next_update_utc
        if next_update is None or next_update <= now:
            raise CRLRefused(f"out of date (nextUpdate {next_update})")
        if crl.last_update_utc > now + CLOCK_SKEW:
            raise CRLRefused(f"issued in the future ({crl.last_update_utc})")
        return chain_name(index, len(chain))
    raise CRLRefused(f"issuer {crl.issuer.rfc4514_string()} is not in the CA's trust chain")


def chain_name(index: int, length: int) -> str:
    """``issuing`` for the CA that signs certificates, ``root`` for the top, else numbered."""
    if index == 0:
        return "issuing"
    return "root" if index == length - 1 else f"intermediate-{index}"


def crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL number; thisUpdate in seconds for a CA that numbers none."""
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return int(crl.last_update_utc.timestamp())


def _row(
    crl: x509.CertificateRevocationList, ca_name: str, number: int, now: datetime
) -> PublishedCRL:
    return PublishedCRL(
        ca_name=ca_name,
        number=number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc or now,
        built_at=now,
        entries=len(crl),
        der=crl.public_bytes(serialization.Encoding.DER),
    )

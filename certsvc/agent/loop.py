"""The gateway agent: polls certsvc, verifies, and keeps the gateway's files fresh.

It sits next to the gateway (``certsvc gateway-agent``). Each round fetches the CRL
bundle and the allowlist with conditional GETs (a 304 costs almost nothing), verifies
them (``verify``), and hands what changed to the gateway (``targets``). When certsvc is
unreachable or sends something wrong, the gateway keeps the last good files, and the
agent warns ever louder as the held CRL's nextUpdate approaches: past it, the gateway
refuses every client.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import requests
from cryptography import x509

from certsvc.agent.layout import GatewayFiles, write_atomically
from certsvc.agent.targets import FeedUpdate, Gateway
from certsvc.agent.verify import (
    FeedRefused,
    VerifiedAllowlist,
    VerifiedCRLs,
    verify_allowlist,
    verify_crl_bundle,
)
from certsvc.clock import Clock
from certsvc.errors import CertsvcError, GatewayError
from certsvc.logging import get_logger

log = get_logger("certsvc.gateway.agent")
BUNDLE_PATH = "/crl/bundle.pem"
ALLOWLIST_PATH = "/gateway/allowlist?format="


class FeedUnavailable(Exception):
    """certsvc could not be reached or answered with an error status."""


@dataclass(frozen=True)
class Fetched:
    body: bytes
    etag: str | None


class FeedClient:
    """Conditional GETs against certsvc: ``None`` means 304, nothing new.

    ``token`` (role ``gateway``) goes only with the requests that need it (``auth=True``:
    the allowlist); CRLs are public. It is never logged, nor put in an error message.
    """

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self._authorization = f"Bearer {token}" if token else None

    def get(self, path: str, etag: str | None, auth: bool = False) -> Fetched | None:
        headers = {"If-None-Match": etag} if etag else {}
        if auth and self._authorization:
            headers["Authorization"] = self._authorization
        try:
            response = self.http.get(self.base_url + path, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise FeedUnavailable(f"{self.base_url}{path}: {exc.__class__.__name__}") from exc
        if response.status_code == 304:
            return None
        if response.status_code in (401, 403):
            hint = "no token given" if self._authorization is None else "token refused"
            raise FeedUnavailable(
                f"{self.base_url}{path}: HTTP {response.status_code} ({hint}: the allowlist "
                "needs a gateway token, see --token-file)"
            )
        if response.status_code != 200:
            raise FeedUnavailable(f"{self.base_url}{path}: HTTP {response.status_code}")
        return Fetched(response.content, response.headers.get("ETag"))


@dataclass
class AgentState:
    """What the gateway holds now; saved beside the files so a restart resumes."""

    crl_etag: str | None = None
    crl_numbers: dict[str, int] = field(default_factory=dict)
    crl_next_update: str | None = None
    allow_etag: str | None = None
    allow_version: int | None = None
    sequence: int = 0

    @classmethod
    def load(cls, files: GatewayFiles) -> AgentState:
        if not files.state.exists():
            return cls()
        return cls(**json.loads(files.state.read_text()))

    def save(self, files: GatewayFiles) -> None:
        write_atomically(files.state, json.dumps(asdict(self), indent=2).encode())


@dataclass(frozen=True)
class Outcome:
    """One round, as the CLI prints it: each part says updated, unchanged or why not."""

    crls: str
    allowlist: str
    gateway: str
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        parts = (self.crls, self.allowlist, self.gateway)
        return not self.warnings and not any(
            part.startswith(("refused", "unreachable", "failed")) for part in parts
        )


@dataclass(frozen=True)
class _Got:
    """A verified part of the feed and the ETag to remember once the gateway has it."""

    note: str
    crls: VerifiedCRLs | None = None
    allowlist: VerifiedAllowlist | None = None
    etag: str | None = None


class GatewayAgent:
    """One gateway's poller; ``clock`` decides freshness (tests inject a FixedClock)."""

    def __init__(
        self,
        client: FeedClient,
        gateway: Gateway,
        files: GatewayFiles,
        clock: Clock,
        warn_before: timedelta = timedelta(hours=48),
        allowlist: bool = True,
    ) -> None:
        self.client = client
        self.allowlist = allowlist
        self.gateway = gateway
        self.files = files
        self.clock = clock
        self.warn_before = warn_before

    def run(self, interval: float, stop: threading.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set; a bad round never ends it."""
        while not stop.is_set():
            try:
                outcome = self.run_once()
                log.info("agent_round", **asdict(outcome))
            except CertsvcError as exc:
                log.error("agent_round_failed", reason=str(exc))
            stop.wait(interval)

    def run_once(self) -> Outcome:
        state = AgentState.load(self.files)
        now = self.clock.now()
        crls = self._fetch_crls(state, now)
        allowlist = self._fetch_allowlist(state)
        gateway_note = "unchanged"
        if crls.crls is not None or allowlist.allowlist is not None:
            gateway_note = self._apply(state, crls, allowlist)
        warnings = self._freshness(state, now)
        state.save(self.files)
        return Outcome(crls.note, allowlist.note, gateway_note, warnings)

    def _chain(self) -> list[x509.Certificate]:
        try:
            return x509.load_pem_x509_certificates(self.files.chain.read_bytes())
        except (FileNotFoundError, ValueError) as exc:
            raise GatewayError(
                f"no CA chain at {self.files.chain} (write it with `certsvc ca show --pem`)"
            ) from exc

    def _fetch_crls(self, state: AgentState, now: datetime) -> _Got:
        try:
            fetched = self.client.get(BUNDLE_PATH, state.crl_etag)
            if fetched is None:
                return _Got("unchanged")
            verified = verify_crl_bundle(fetched.body, self._chain(), now, state.crl_numbers)
        except (FeedUnavailable, FeedRefused) as exc:
            return self._refused("crls", exc)
        return _Got("updated", crls=verified, etag=fetched.etag)

    def _fetch_allowlist(self, state: AgentState) -> _Got:
        if not self.allowlist:
            return _Got("not used")
        try:
            kind = self.gateway.allowlist_format
            fetched = self.client.get(ALLOWLIST_PATH + kind, state.allow_etag, auth=True)
            if fetched is None:
                return _Got("unchanged")
            verified = verify_allowlist(fetched.body, kind, state.allow_version)
        except (FeedUnavailable, FeedRefused) as exc:
            return self._refused("allowlist", exc)
        return _Got("updated", allowlist=verified, etag=fetched.etag)

    def _refused(self, part: str, error: Exception) -> _Got:
        kind = "unreachable" if isinstance(error, FeedUnavailable) else "refused"
        log.warning(f"feed_{kind}", part=part, reason=str(error), action="keeping last good files")
        return _Got(f"{kind}: {error}")

    def _apply(self, state: AgentState, crls: _Got, allowlist: _Got) -> str:
        numbers = crls.crls.numbers if crls.crls else state.crl_numbers
        version = allowlist.allowlist.version if allowlist.allowlist else state.allow_version
        sequence = state.sequence + 1
        label = f"crl={','.join(map(str, numbers.values())) or '-'} allow={version} seq={sequence}"
        try:
            note = self.gateway.apply(FeedUpdate(crls.crls, allowlist.allowlist, label))
        except GatewayError as exc:
            log.error("gateway_update_failed", reason=str(exc), action="keeping last good files")
            return f"failed: {exc}"
        state.sequence = sequence
        if crls.crls is not None:
            state.crl_etag, state.crl_numbers = crls.etag, crls.crls.numbers
            state.crl_next_update = crls.crls.next_update.isoformat()
        if allowlist.allowlist is not None:
            state.allow_etag, state.allow_version = allowlist.etag, allowlist.allowlist.version
        log.info("gateway_updated", label=label, note=note)
        return note

    def _freshness(self, state: AgentState, now: datetime) -> tuple[str, ...]:
        """Louder as the held CRLs near nextUpdate: past it, every client is refused."""
        if state.crl_next_update is None:
            return ("the gateway holds no CRL from certsvc yet",)
        next_update = datetime.fromisoformat(state.crl_next_update)
        left = next_update - now
        if left <= timedelta(0):
            message = f"CRL EXPIRED at {next_update.isoformat()}: the gateway refuses EVERY client"
            log.critical("crl_expired", next_update=next_update.isoformat())
            return (message,)
        if left <= self.warn_before:
            hours = left.total_seconds() / 3600
            message = f"CRL nextUpdate in {hours:.1f} h ({next_update.isoformat()}): refresh it"
            log.error("crl_near_next_update", hours_left=round(hours, 1))
            return (message,)
        return ()

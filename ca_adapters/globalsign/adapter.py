"""The GlobalSign adapter: a client of the Atlas-HVCA-style REST API (``globalsign-api.md``).

Issuance is asynchronous (201 with a ``Location``, then 202 until the certificate is
ready) and ``POST /certificates`` has no idempotency key, so a lost answer is never
re-posted: it surfaces as ``CAUnavailable`` and the lifecycle's ``pending`` row is
settled later by ``find_issued`` (``certsvc reconcile``). Serials are compared as
integers because clients and servers differ in case and leading zeros. Revocation
information is the CA's own CRL, which certsvc mirrors (``MirroredCRL``).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography import x509

from ca_adapters.base import (
    AdapterContext,
    CheckLine,
    IssuedCertificate,
    IssueRequest,
    MirroredCRL,
    RevocationSource,
)
from ca_adapters.globalsign.options import GlobalSignOptions
from ca_adapters.globalsign.policy import Policy, request_body
from ca_adapters.globalsign.transport import (
    ADAPTER,
    Deadline,
    HVCATransport,
    describe,
    fail,
    json_body,
)
from certsvc.domain import fingerprints
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CARejected, CAUnavailable, CertsvcError, ConfigError, NotFound

SECRET_ENV = "CERTSVC_CA_GLOBALSIGN_API_SECRET"
ISSUING = "issuing"
STATS_PAGE = 100


def create(context: AdapterContext[GlobalSignOptions]) -> GlobalSignCA:
    """The factory of ``[ca] adapter = "globalsign"`` (see ``ca_adapters.globalsign.plugin``)."""
    return GlobalSignCA(context)


class GlobalSignCA:
    """Issues, fetches and revokes through the CA's API; mirrors its CRLs."""

    name = ADAPTER
    remote = True  # issuing happens at the CA: the lifecycle brackets it with a pending row

    def __init__(self, context: AdapterContext[GlobalSignOptions]) -> None:
        self._settings = context.options
        self._clock = context.clock
        self._zone = context.zone
        self._ledger = context.ledger
        secret = os.environ.get(SECRET_ENV) or self._settings.api_secret
        _require_settings(self._settings.url, self._settings.api_key, secret)
        for key in ("client_cert", "client_key", "server_ca"):
            configured = getattr(self._settings, key)
            if configured and not Path(configured).is_file():
                raise ConfigError(f"config key ca.globalsign.{key}: no such file {configured}")
        self.transport = HVCATransport(self._settings, secret, context.clock, context.timer)
        self._lock = threading.Lock()
        self._policy: tuple[Policy, datetime] | None = None
        self._chain: list[x509.Certificate] | None = None

    def ensure_ready(self) -> list[str]:
        self.transport.login(self.transport.deadline("login"))
        return [f"logged in to the CA API at {self._settings.url}"]

    # -- issuance -----------------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssuedCertificate:
        """Post the request once, then poll until issued, rejected or out of time."""
        deadline = self.transport.deadline("issue", self._settings.issue_deadline_seconds)
        policy = self.policy(deadline)
        server_now, offset = self.transport.server_now(), self.transport.server_offset
        body = request_body(policy, request, server_now, offset, self._zone)
        response = self.transport.call(
            "POST", "/certificates", deadline, body=body, idempotent=False
        )
        if response.status_code != 201:
            fail(response, "issue")
        serial = serial_from_location(response.headers.get("Location", ""))
        issued = self._await(serial, deadline)
        if not _matches(issued, fingerprints.public_key_sha256(request.public_key)):
            raise CARejected(f"certificate {issued.ca_ref} was issued for another key", ADAPTER)
        return issued

    def _await(self, serial: int, deadline: Deadline) -> IssuedCertificate:
        delay = self._settings.poll_initial_seconds
        while True:
            response = self.transport.call("GET", _path(serial), deadline)
            if response.status_code == 200:
                return _issued(response, serial)
            if response.status_code == 422:
                raise CARejected(f"certificate {serial:X}: {describe(response)}", ADAPTER)
            if response.status_code != 202:
                fail(response, f"certificate {serial:X}")
            deadline.sleep(delay, f"certificate {serial:X} still being issued")
            delay = min(max(delay * 2, 0.001), self._settings.poll_max_seconds)

    def fetch(self, ca_ref: str) -> IssuedCertificate:
        serial = _parse_serial(ca_ref)
        response = self.transport.call("GET", _path(serial), self.transport.deadline("fetch"))
        if response.status_code == 404:
            raise NotFound("certificate", ca_ref)
        if response.status_code == 202:
            raise CAUnavailable(f"certificate {ca_ref} is still being issued", ADAPTER)
        if response.status_code != 200:
            fail(response, f"certificate {ca_ref}")
        return _issued(response, serial)

    # -- revocation ---------------------------------------------------------------------

    def revoke(self, serial: int, reason: RevocationReason, when: datetime) -> None:
        """PATCH with the reason; a 409 whose certificate shows REVOKED is success."""
        deadline = self.transport.deadline("revoke")
        body = {"revocation_reason": reason.value, "revocation_time": int(when.timestamp())}
        response = self.transport.call("PATCH", _path(serial), deadline, body=body)
        if response.status_code == 204:
            return
        if response.status_code == 404:
            raise NotFound("certificate", format_serial(serial))
        if response.status_code == 409:
            current = self.transport.call("GET", _path(serial), deadline)
            if current.status_code == 200 and json_body(current, "revoke").get("status") == (
                "REVOKED"
            ):
                return
        fail(response, f"revoke {format_serial(serial)}")

    def revocation_source(self) -> RevocationSource:
        """The CA's CRLs: configured URLs, else the distribution points we have seen."""
        if self._settings.crl_urls:
            return MirroredCRL(tuple(self._settings.crl_urls))
        urls: list[str] = []
        for certificate in [*self._latest_leaf(), *self.trust_chain()]:
            for url in distribution_points(certificate):
                if url not in urls:
                    urls.append(url)
        return MirroredCRL(tuple(urls))

    def _latest_leaf(self) -> list[x509.Certificate]:
        pem = self._ledger.latest_certificate_pem(self.name)
        return [x509.load_pem_x509_certificate(pem)] if pem else []

    # -- chain, policy, reconcile, checks -----------------------------------------------

    def trust_chain(self) -> list[x509.Certificate]:
        """Issuing CA first, root last; fetched once per process."""
        with self._lock:
            if self._chain is None:
                response = self.transport.call(
                    "GET", "/trustchain", self.transport.deadline("chain")
                )
                if response.status_code != 200:
                    fail(response, "trust chain")
                self._chain = _parse_chain(response)
            return list(self._chain)

    def policy(self, deadline: Deadline | None = None) -> Policy:
        """The validation policy, cached for ``policy_cache_seconds``."""
        with self._lock:
            max_age = timedelta(seconds=self._settings.policy_cache_seconds)
            if self._policy is not None and self._clock.now() - self._policy[1] < max_age:
                return self._policy[0]
        response = self.transport.call(
            "GET", "/validationpolicy", deadline or self.transport.deadline("policy")
        )
        if response.status_code != 200:
            fail(response, "validation policy")
        policy = Policy.parse(json_body(response, "validation policy"))
        with self._lock:
            self._policy = (policy, self._clock.now())
        return policy

    def find_issued(
        self, public_key_sha256: str, since: datetime, until: datetime
    ) -> IssuedCertificate | None:
        """Look through ``/stats/issued`` for the window; match the public key."""
        deadline = self.transport.deadline("reconcile")
        offset = self.transport.server_offset
        window = {
            "from": int((since + offset).timestamp()),
            "to": int((until + offset).timestamp()),
        }
        page = 1
        while True:
            params = {**window, "page": page, "per_page": STATS_PAGE}
            response = self.transport.call("GET", "/stats/issued", deadline, params=params)
            if response.status_code != 200:
                fail(response, "issued statistics")
            rows = _stats_rows(response)
            for row in rows:
                found = self.fetch(format_serial(_parse_serial(str(row["serial_number"]))))
                if _matches(found, public_key_sha256):
                    return found
            if not rows or not _has_next(response, page):
                return None
            page += 1

    def check(self) -> list[CheckLine]:
        """Login, validation policy and quota: one line each."""
        probes = (("login", self._check_login), ("policy", self._check_policy))
        lines = [_probe(name, probe) for name, probe in (*probes, ("quota", self._check_quota))]
        return lines

    def _check_login(self) -> str:
        self.transport.login(self.transport.deadline("login"))
        offset = self.transport.server_offset.total_seconds()
        return f"logged in to {self._settings.url} (CA clock offset {offset:+.0f} s)"

    def _check_policy(self) -> str:
        with self._lock:
            self._policy = None
        return self.policy().summary()

    def _check_quota(self) -> str:
        response = self.transport.call("GET", "/quotas/issuance", self.transport.deadline("quota"))
        if response.status_code != 200:
            fail(response, "quota")
        value = json_body(response, "quota").get("value")
        if not isinstance(value, int) or value <= 0:
            raise CAUnavailable(f"issuance quota used up ({value})", ADAPTER)
        return f"{value} certificates left"


def _probe(name: str, probe: Any) -> CheckLine:
    try:
        return CheckLine(name, True, probe())
    except CertsvcError as exc:
        return CheckLine(name, False, str(exc))


def _require_settings(url: str, api_key: str, secret: str) -> None:
    if not url.startswith("https://"):
        raise ConfigError(f"config key ca.globalsign.url: must be an https:// URL, not {url!r}")
    if not api_key:
        raise ConfigError("config key ca.globalsign.api_key: not set")
    if not secret:
        raise ConfigError(f"config key ca.globalsign.api_secret: not set (or set {SECRET_ENV})")


def serial_from_location(location: str) -> int:
    """The serial from ``Location`` (absolute or a ``/v2/...`` path): its last segment."""
    return _parse_serial(location.rstrip("/").rsplit("/", 1)[-1])


def _parse_serial(text: str) -> int:
    try:
        value = int(text.replace(":", ""), 16)
    except ValueError:
        raise CAUnavailable(
            f"the CA named a certificate with a bad serial {text!r}", ADAPTER
        ) from None
    if value <= 0:
        raise CAUnavailable(f"the CA named a certificate with a bad serial {text!r}", ADAPTER)
    return value


def _path(serial: int) -> str:
    return f"/certificates/{format_serial(serial)}"


def _issued(response: requests.Response, serial: int) -> IssuedCertificate:
    data = json_body(response, f"certificate {serial:X}")
    try:
        certificate = x509.load_pem_x509_certificate(str(data["certificate"]).encode())
    except (KeyError, ValueError) as exc:
        raise CAUnavailable(f"certificate {serial:X}: unreadable PEM from the CA", ADAPTER) from exc
    if certificate.serial_number != serial:
        raise CAUnavailable(f"asked for {serial:X}, the CA answered another certificate", ADAPTER)
    return IssuedCertificate(certificate, format_serial(serial), ISSUING)


def _parse_chain(response: requests.Response) -> list[x509.Certificate]:
    try:
        pems = response.json()
        chain = [x509.load_pem_x509_certificate(str(pem).encode()) for pem in pems]
    except (ValueError, TypeError) as exc:
        raise CAUnavailable("unreadable trust chain from the CA", ADAPTER) from exc
    if not chain:
        raise CAUnavailable("the CA sent an empty trust chain", ADAPTER)
    return chain


def _stats_rows(response: requests.Response) -> list[dict[str, Any]]:
    try:
        rows = response.json()
    except ValueError as exc:
        raise CAUnavailable("unreadable statistics from the CA", ADAPTER) from exc
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and "serial_number" in row for row in rows
    ):
        raise CAUnavailable("unexpected statistics from the CA", ADAPTER)
    return rows


def _has_next(response: requests.Response, page: int) -> bool:
    links = response.headers.get("Links", "") + response.headers.get("Link", "")
    if 'rel="next"' in links:
        return True
    total = response.headers.get("Total-Count", "")
    return total.isdigit() and page * STATS_PAGE < int(total)


def distribution_points(certificate: x509.Certificate) -> list[str]:
    """The HTTP(S) URLs of a certificate's CRL distribution points."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    return [
        name.value
        for point in points.value
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http")
    ]


def _matches(issued: IssuedCertificate, public_key_sha256: str) -> bool:
    """Whether the CA certified the key we asked for (its answer may name another)."""
    return fingerprints.public_key_sha256(issued.certificate.public_key()) == public_key_sha256

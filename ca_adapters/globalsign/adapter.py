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
from collections.abc import Iterator
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
    log,
)
from certsvc.domain import fingerprints
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import (
    CAError,
    CANotSent,
    CARejected,
    CAUnavailable,
    CertsvcError,
    ConfigError,
    NotFound,
)

SECRET_ENV = "CERTSVC_CA_GLOBALSIGN_API_SECRET"
ISSUING = "issuing"
STATS_PAGE = 100
KEY_CACHE = 100_000
"""Serials whose key hash is remembered, so reconcile fetches each certificate once."""


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
        self._key_hashes: dict[int, str] = {}

    def ensure_ready(self) -> list[str]:
        self.transport.login(self.transport.deadline("login"))
        return [f"logged in to the CA API at {self._settings.url}"]

    # -- issuance -----------------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssuedCertificate:
        """Post the request once, then poll until issued, rejected or out of time.

        Everything before the POST (login, policy) fails as ``CANotSent``: nothing can
        have been issued. Once the CA accepted the POST, only its own 422 is a rejection;
        any other failure while polling (a 401, a deadline, a 5xx) is ``CAUnavailable``,
        so the lifecycle keeps the pending row for ``reconcile``.
        """
        deadline = self.transport.deadline("issue", self._settings.issue_deadline_seconds)
        serial = self._post(request, deadline)
        try:
            issued = self._await(serial, deadline)
        except (CARejected, CAUnavailable):
            raise
        except CertsvcError as exc:
            raise CAUnavailable(
                f"certificate {serial:X} was accepted but polling failed ({exc}); "
                "run 'certsvc reconcile'",
                ADAPTER,
            ) from exc
        if not _matches(issued, fingerprints.public_key_sha256(request.public_key)):
            raise CARejected(f"certificate {issued.ca_ref} was issued for another key", ADAPTER)
        return issued

    def _post(self, request: IssueRequest, deadline: Deadline) -> int:
        """POST the request; the serial the CA accepted it under.

        A refusal for clock skew is sent once more with the CA clock offset that the
        refusal's own ``Date`` brought (a long-running process's offset goes stale); a
        422 means nothing was issued, so that second POST cannot double anything.
        """
        response = self._send_post(request, deadline)
        if response.status_code == 422 and _skew_refusal(response):
            log.info("ca.clock_offset_refreshed", adapter=ADAPTER)
            response = self._send_post(request, deadline)
        if response.status_code != 201:
            fail(response, "issue")
        return serial_from_location(response.headers.get("Location", ""))

    def _send_post(self, request: IssueRequest, deadline: Deadline) -> requests.Response:
        body = self._prepared_body(request, deadline)
        return self.transport.call("POST", "/certificates", deadline, body=body, idempotent=False)

    def _prepared_body(self, request: IssueRequest, deadline: Deadline) -> dict[str, Any]:
        """Log in and read the policy before posting; a failure here sent nothing."""
        try:
            self.transport.ensure_token(deadline)
            policy = self.policy(deadline)
        except CANotSent:
            raise
        except CAError as exc:
            raise CANotSent(f"nothing was posted: {exc}", ADAPTER) from exc
        server_now, offset = self.transport.server_now(), self.transport.server_offset
        return request_body(policy, request, server_now, offset, self._zone)

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
        self,
        public_key_sha256: str,
        since: datetime,
        until: datetime,
        known: frozenset[str] = frozenset(),
    ) -> IssuedCertificate | None:
        """Look through ``/stats/issued`` from ``since`` for a certificate of this key.

        Fetches only what can match: a row whose notBefore lies outside [since, until]
        cannot be the request's, a serial in ``known`` is recorded already, and a
        certificate fetched before is matched by its cached key hash. A candidate that
        cannot be read (still issuing, an error) is skipped; only when no candidate
        matched does it make the answer unknown (``CAUnavailable``) for this key alone.
        """
        deadline = self.transport.deadline("reconcile")
        offset = self.transport.server_offset
        skip = {_parse_serial(ref) for ref in known}
        low, high = int((since + offset).timestamp()), int((until + offset).timestamp())
        unreadable: list[str] = []
        for row in self._issued_since(since + offset, deadline):
            serial = _parse_serial(str(row["serial_number"]))
            if serial in skip or not _may_be_ours(row, low, high):
                continue
            try:
                found = self._fetch_candidate(serial, public_key_sha256)
            except CertsvcError as exc:
                unreadable.append(f"{serial:X} ({exc})")
                continue
            if found is not None:
                return found
        if unreadable:
            raise CAUnavailable(
                "cannot tell whether the key was issued: unreadable candidates "
                + ", ".join(unreadable),
                ADAPTER,
            )
        return None

    def _issued_since(self, since: datetime, deadline: Deadline) -> Iterator[dict[str, Any]]:
        """Every row of ``/stats/issued`` from ``since`` to the CA's now, page by page."""
        window = {
            "from": int(since.timestamp()),
            "to": int(self.transport.server_now().timestamp()),
        }
        page = 1
        while True:
            params = {**window, "page": page, "per_page": STATS_PAGE}
            response = self.transport.call("GET", "/stats/issued", deadline, params=params)
            if response.status_code != 200:
                fail(response, "issued statistics")
            rows = _stats_rows(response)
            yield from rows
            if not rows or not _has_next(response, page):
                return
            page += 1

    def _fetch_candidate(self, serial: int, public_key_sha256: str) -> IssuedCertificate | None:
        """The certificate when it certifies this key; a known other key is not fetched."""
        with self._lock:
            cached = self._key_hashes.get(serial)
        if cached is not None and cached != public_key_sha256:
            return None
        found = self.fetch(format_serial(serial))
        key_hash = fingerprints.public_key_sha256(found.certificate.public_key())
        with self._lock:
            if len(self._key_hashes) >= KEY_CACHE:
                self._key_hashes.clear()
            self._key_hashes[serial] = key_hash
        return found if key_hash == public_key_sha256 else None

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


def _skew_refusal(response: requests.Response) -> bool:
    """Whether a 422 refused the notBefore against the CA's clock."""
    return "skew" in describe(response).lower()


def _may_be_ours(row: dict[str, Any], low: int, high: int) -> bool:
    """Whether a statistics row's notBefore fits the request's window (unknown: it may)."""
    not_before = row.get("not_before")
    if not isinstance(not_before, int):
        return True
    return low <= not_before <= high


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

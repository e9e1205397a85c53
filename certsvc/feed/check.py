"""The ``auth_request`` decision: is this client certificate on the allowlist right now?

Answered from the in-memory index with the injected clock, so a certificate past its
``invalid_from`` is refused even if the nightly run that expires it never happened.
The identity comes from the headers nginx can fill (named exactly so) or from the
query parameters ``sha256=`` / ``sha1=``:

- ``X-Client-Cert-Fingerprint``: ``$ssl_client_fingerprint`` (SHA-1, hex)
- ``X-Client-Cert-Serial`` + ``X-Client-Cert-Issuer``: ``$ssl_client_serial``, ``$ssl_client_i_dn``
- ``X-Client-Cert``: ``$ssl_client_escaped_cert`` (URL-escaped PEM)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

from cryptography import x509

from certsvc.clock import Clock, SystemTimer, Timer
from certsvc.domain.fingerprints import sha256_hex
from certsvc.errors import InputError
from certsvc.feed.allowlist import AllowlistIndex, Entry, serial_key
from certsvc.feed.metrics import GatewayMetrics

ALLOWED, DENIED, BAD_REQUEST, NOT_READY = 204, 403, 400, 503
HEADERS = {
    b"x-client-cert-fingerprint": "fingerprint",
    b"x-client-cert-serial": "serial",
    b"x-client-cert-issuer": "issuer",
    b"x-client-cert": "cert",
}
_HEX = re.compile(r"[0-9a-f]+")
NO_IDENTITY = (
    "no client certificate identity: send X-Client-Cert-Fingerprint, "
    "X-Client-Cert-Serial with X-Client-Cert-Issuer, X-Client-Cert, or ?sha256= / ?sha1="
)


def _digest(value: str, length: int, name: str) -> str:
    cleaned = value.strip().replace(":", "").lower()
    if len(cleaned) != length or not _HEX.fullmatch(cleaned):
        raise InputError(f"{name} must be {length} hex digits", name)
    return cleaned


def _certificate_sha256(escaped: str) -> str:
    try:
        certificate = x509.load_pem_x509_certificate(unquote(escaped).encode())
    except ValueError as exc:
        raise InputError("X-Client-Cert is not a URL-escaped PEM certificate", "cert") from exc
    return sha256_hex(certificate)


class Checker:
    """Decides 204 (allowed), 403 (not allowed), 400 (no or bad identity), 503 (loading, or
    a view of the feed older than ``[gateway] max_view_age_seconds``: the database is cut
    off, and a revocation made meanwhile must not be admitted)."""

    def __init__(
        self, index: AllowlistIndex, clock: Clock, metrics: GatewayMetrics, max_age: float
    ) -> None:
        self.index = index
        self.clock = clock
        self.counters = metrics.check_result
        self.max_age = max_age
        self.timer: Timer = SystemTimer()
        """Elapsed time, not the domain clock: a view is as old as the real time since the
        last read (a clock set forward in a test, or an NTP step, does not age it)."""
        self.fresh_until = 0.0
        """``timer`` reading past which this instance's view of the feed is too old to
        admit anyone: moved on by every poll that read the database (``viewed``)."""

    def viewed(self) -> None:
        """The feed was just read from the database: the view is fresh for ``max_age``."""
        self.fresh_until = self.timer.monotonic() + self.max_age

    def decide(self, headers: Iterable[tuple[bytes, bytes]], query: bytes) -> tuple[int, str]:
        """The status and a short reason, from raw ASGI headers and query string."""
        if not self.index.loaded:
            return NOT_READY, "allowlist not loaded yet"
        given = {
            HEADERS[name]: value.decode("latin-1") for name, value in headers if name in HEADERS
        }
        try:
            entry, identified = self._find({k: v for k, v in given.items() if v}, query)
        except InputError as error:
            self.counters["bad_request"].inc()
            return BAD_REQUEST, str(error)
        if not identified:
            self.counters["bad_request"].inc()
            return BAD_REQUEST, NO_IDENTITY
        if self.timer.monotonic() > self.fresh_until:
            self.counters["stale"].inc()
            return NOT_READY, f"the allowlist was last read over {self.max_age:g} s ago"
        if self.index.allowed(entry, self.clock.now().timestamp()):
            self.counters["allowed"].inc()
            return ALLOWED, ""
        self.counters["denied"].inc()
        return DENIED, "certificate is not on the allowlist (revoked, expired or unknown)"

    def _find(self, given: dict[str, str], query: bytes) -> tuple[Entry | None, bool]:
        index = self.index
        if "fingerprint" in given:
            return index.by_sha1.get(_digest(given["fingerprint"], 40, "fingerprint")), True
        if "serial" in given or "issuer" in given:
            if not ("serial" in given and "issuer" in given):
                raise InputError("X-Client-Cert-Serial and X-Client-Cert-Issuer go together")
            return index.by_serial.get(serial_key(given["serial"], given["issuer"])), True
        if "cert" in given:
            return index.by_sha256.get(_certificate_sha256(given["cert"])), True
        if query:
            params = dict(parse_qsl(query.decode("latin-1")))
            if params.get("sha256"):
                return index.by_sha256.get(_digest(params["sha256"], 64, "sha256")), True
            if params.get("sha1"):
                return index.by_sha1.get(_digest(params["sha1"], 40, "sha1")), True
        return None, False

"""A fake Atlas-HVCA-style CA API: real HTTPS on loopback, mutual TLS, fault switches.

Implements every endpoint of ``globalsign-api.md`` with its status codes and
problem+json errors, signs with its own test CA, publishes CRLs over plain HTTP, and
enforces a configurable validation policy. ``faults`` switches misbehaviour on
(token lifetime, N x 202, 429 with/without Retry-After, 503, a dropped answer after
issuing, quota, server clock offset). For local trials::

    python -m tests.fakes.globalsign --port 8443 --dir /tmp/fake-hvca
"""

from __future__ import annotations

import argparse
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.hvca_ca import FakeAuthority, Problem
from tests.fakes.hvca_http import (
    PROBLEM_TYPE,
    Answer,
    APIHandler,
    CRLHandler,
    Drop,
    json_request,
    problem_body,
)
from tests.fakes.pki import TLSFiles, write_tls_files


@dataclass
class Faults:
    """Misbehaviour to switch on; counters count down as requests use them up."""

    token_lifetime: int = 600
    pending_polls: int = 0
    rate_limited: int = 0
    retry_after: str | None = None
    unavailable: int = 0
    drop_after_issue: int = 0
    drop_after_revoke: int = 0  # revoke, then close without answering and go down (503)
    unauthorized_polls: int = 0  # GET /certificates/<sn> answers 401 (token refused)
    clock_offset: int = 0
    reject_issuance: str | None = None
    serial_style: str = "upper"  # upper | lower-padded
    absolute_location: bool = False
    crl: str | None = None  # None | down | bad-signature | expired
    broken_calls: set[tuple[str, int]] = field(default_factory=set)  # (method, serial): 500


@dataclass
class Seen:
    """What the fake saw, for tests to assert on."""

    logins: int = 0
    unauthorized: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)


class FakeGlobalSign:
    """The fake CA API plus its CRL server; ``start()`` binds both on loopback port 0."""

    def __init__(self, directory: Path, now: Callable[[], datetime] | None = None) -> None:
        self._now_source = now or (lambda: datetime.now(UTC))
        self.api_key, self.api_secret = "fake-key", "fake-secret-" + secrets.token_hex(8)
        self.tls: TLSFiles = write_tls_files(directory)
        self._crl_server = ThreadingHTTPServer(("127.0.0.1", 0), CRLHandler)
        self._crl_server.fake = self  # type: ignore[attr-defined]
        self.crl_base = f"http://127.0.0.1:{self._crl_server.server_port}"
        self.ca = FakeAuthority(self.crl_base)
        self._api_server: ThreadingHTTPServer | None = None
        self.tokens: dict[str, datetime] = {}
        self.faults = Faults()
        self.seen = Seen()
        self._lock = threading.Lock()

    # -- control ------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeGlobalSign:
        server = ThreadingHTTPServer(("127.0.0.1", port), APIHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls.server_cert, self.tls.server_key)
        context.load_verify_locations(self.tls.ca)
        context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.fake = self  # type: ignore[attr-defined]
        server.daemon_threads = True
        self._crl_server.daemon_threads = True
        self._api_server = server
        for each in (server, self._crl_server):
            threading.Thread(target=each.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for each in (self._api_server, self._crl_server):
            if each is not None:
                each.shutdown()
                each.server_close()

    @property
    def url(self) -> str:
        assert self._api_server is not None
        return f"https://127.0.0.1:{self._api_server.server_port}/v2"

    def reset(self, now: Callable[[], datetime] | None = None) -> None:
        """Forget certificates, tokens, faults and counters (between tests)."""
        with self._lock:
            self._now_source = now or (lambda: datetime.now(UTC))
            self.tokens, self.faults, self.seen = {}, Faults(), Seen()
            self.ca.reset()

    @contextmanager
    def unavailable(self) -> Iterator[None]:
        """Every call answers 503 (the conformance suite's "unreachable CA")."""
        self.faults.unavailable = 10**9
        try:
            yield
        finally:
            self.faults.unavailable = 0

    @contextmanager
    def rejecting(self, reason: str) -> Iterator[None]:
        """Issuance ends in 422 with ``reason`` when polled."""
        self.faults.reject_issuance = reason
        try:
            yield
        finally:
            self.faults.reject_issuance = None

    @contextmanager
    def quota_exhausted(self) -> Iterator[None]:
        saved, self.ca.quota = self.ca.quota, 0
        try:
            yield
        finally:
            self.ca.quota = saved

    def now(self) -> datetime:
        return self._now_source() + timedelta(seconds=self.faults.clock_offset)

    def settings(self) -> dict[str, Any]:
        """The ``[ca.globalsign]`` section that points certsvc at this fake."""
        return {
            "url": self.url,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "client_cert": str(self.tls.client_cert),
            "client_key": str(self.tls.client_key),
            "server_ca": str(self.tls.ca),
        }

    # -- API ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, raw: bytes) -> Answer:
        """Route one request; raises ``Drop`` to close without answering."""
        url = urlsplit(path)
        route = url.path.removeprefix("/v2")
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        with self._lock:
            self.seen.requests.append((method, route))
            busy = self._injected_busy()
        if busy is not None:
            return busy
        try:
            if (method, route) == ("POST", "/login"):
                return self._login(headers, raw)
            self._authorise(headers)
            return self._route(method, route, query, headers, raw)
        except Problem as problem:
            return Answer(problem.status, problem_body(problem.description), {}, PROBLEM_TYPE)

    def _injected_busy(self) -> Answer | None:
        if self.faults.unavailable > 0:
            self.faults.unavailable -= 1
            return Answer(503, problem_body("Service unavailable"), {}, PROBLEM_TYPE)
        if self.faults.rate_limited > 0:
            self.faults.rate_limited -= 1
            extra = {"Retry-After": self.faults.retry_after} if self.faults.retry_after else {}
            return Answer(429, problem_body("Too many requests"), extra, PROBLEM_TYPE)
        return None

    def _login(self, headers: Any, raw: bytes) -> Answer:
        body = json_request(headers, raw)
        if body.get("api_key") != self.api_key or body.get("api_secret") != self.api_secret:
            raise Problem(401, "Invalid API key or secret")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.now()
            self.seen.logins += 1
        return Answer(200, {"access_token": token})

    def _authorise(self, headers: Any) -> None:
        token = str(headers.get("Authorization", "")).removeprefix("Bearer ")
        with self._lock:
            issued = self.tokens.get(token)
            if (
                issued is None
                or (self.now() - issued).total_seconds() >= self.faults.token_lifetime
            ):
                self.seen.unauthorized += 1
                raise Problem(401, "Access token invalid or expired")

    def _route(
        self, method: str, route: str, query: dict[str, str], headers: Any, raw: bytes
    ) -> Answer:
        parts = route.strip("/").split("/")
        if parts[0] == "certificates":
            if len(parts) == 1 and method == "POST":
                return self._issue(headers, raw)
            if len(parts) == 2:
                return self._certificate(method, _serial(parts[1]), headers, raw)
        simple = {
            "/trustchain": self.ca.chain,
            "/validationpolicy": lambda: self.ca.policy,
            "/quotas/issuance": lambda: {"value": self.ca.quota},
            "/counters/certificates/issued": lambda: {"value": self.ca.counter("issued")},
            "/counters/certificates/revoked": lambda: {"value": self.ca.counter("revoked")},
        }
        if method == "GET" and route in simple:
            return Answer(200, simple[route]())
        if method == "GET" and parts[0] == "stats" and len(parts) == 2:
            return self._stats(parts[1], query)
        raise Problem(404, f"no such endpoint: {method} {route}")

    def _issue(self, headers: Any, raw: bytes) -> Answer:
        body = json_request(headers, raw)
        record = self.ca.issue(body, self.now())
        serial = record.certificate.serial_number
        with self._lock:
            self.seen.posts.append(body)
            record.polls_left = self.faults.pending_polls
            if self.faults.drop_after_issue > 0:
                self.faults.drop_after_issue -= 1
                raise Drop
        text = f"{serial:040x}" if self.faults.serial_style == "lower-padded" else f"{serial:X}"
        location = f"/v2/certificates/{text}"
        if self.faults.absolute_location:
            location = self.url.removesuffix("/v2") + location
        return Answer(201, None, {"Location": location})

    def _certificate(self, method: str, serial: int, headers: Any, raw: bytes) -> Answer:
        if (method, serial) in self.faults.broken_calls:
            raise Problem(500, f"internal error on certificate {serial:X}")
        record = self.ca.get(serial)
        if method == "GET":
            with self._lock:
                if self.faults.unauthorized_polls > 0:
                    self.faults.unauthorized_polls -= 1
                    raise Problem(401, "Access token invalid or expired")
                if record.polls_left > 0:
                    record.polls_left -= 1
                    return Answer(202, {"description": "Operation in progress"})
            if self.faults.reject_issuance:
                raise Problem(422, self.faults.reject_issuance)
            answer = {"certificate": record.pem, "status": record.status}
            return Answer(200, {**answer, "updated_at": record.updated_at})
        if method == "PATCH":
            body = json_request(headers, raw)
            self.ca.revoke(serial, str(body.get("revocation_reason")), self.now())
            with self._lock:
                if self.faults.drop_after_revoke > 0:
                    self.faults.drop_after_revoke -= 1
                    self.faults.unavailable = 10**9
                    raise Drop
            return Answer(204)
        if method == "DELETE":
            self.ca.revoke(serial, "unspecified", self.now())
            return Answer(204)
        raise Problem(405, f"{method} not allowed")

    def _stats(self, kind: str, query: dict[str, str]) -> Answer:
        try:
            start, end = int(query["from"]), int(query["to"])
            page, per_page = int(query.get("page", "1")), int(query.get("per_page", "100"))
        except (KeyError, ValueError) as exc:
            raise Problem(422, f"bad statistics query: {exc}") from exc
        if kind not in ("issued", "revoked", "expiring") or page < 1 or per_page < 1:
            raise Problem(422, "bad statistics query")
        rows = self.ca.stats(kind, start, end)
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {"Total-Count": str(len(rows))}
        if page * per_page < len(rows):
            headers["Links"] = f'<{self.url}/stats/{kind}?page={page + 1}>; rel="next"'
        return Answer(200, chunk, headers)

    def crl(self, which: str) -> bytes:
        """The CRL as served, after the CRL fault switch."""
        if self.faults.crl == "down":
            raise Problem(503, "CRL server down")
        now = self.now()
        if self.faults.crl == "expired":
            now -= timedelta(days=3)
            with self.ca.lock:
                self.ca._crls.pop(which, None)
        der = self.ca.crl(which, now)
        if self.faults.crl == "bad-signature":
            return der[:-8] + bytes(byte ^ 0xFF for byte in der[-8:])
        return der


def _serial(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise Problem(404, f"no certificate {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--dir", type=Path, default=Path("fake-hvca"))
    args = parser.parse_args()
    fake = FakeGlobalSign(args.dir).start(args.port)
    print('[ca]\nadapter = "globalsign"\n\n[ca.globalsign]')
    for key, value in fake.settings().items():
        print(f'{key} = "{value}"')
    print(f"# CRLs: {fake.crl_base}/crl/issuing.crl and /crl/root.crl; Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()

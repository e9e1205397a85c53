"""HTTP to an Atlas-HVCA-style CA API: mutual TLS, bearer login, retries, deadlines.

Every vendor failure is translated into a certsvc error here (and in ``fail``), so
nothing above sees a ``requests`` exception or an HTTP status. Two rules shape the
retry loop: a call never outlives its ``Deadline`` (sleeping past it is refused up
front), and a non-idempotent call (``POST /certificates``) is never re-sent once it may
have reached the CA — only 429/503 answers and failures to connect are retried for it.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from ca_adapters.globalsign.options import GlobalSignOptions
from certsvc.clock import Clock, Timer
from certsvc.errors import (
    CAAuthError,
    CADeadlineExceeded,
    CARejected,
    CAUnavailable,
    QuotaExceeded,
)
from certsvc.logging import get_logger

ADAPTER = "globalsign"
JSON_TYPE = "application/json;charset=utf-8"
RETRYABLE = frozenset({429, 503})
log = get_logger(__name__)


@dataclass
class Deadline:
    """The end of one operation's time budget, on the injected timer."""

    timer: Timer
    ends_at: float
    what: str
    seconds: float

    @classmethod
    def start(cls, timer: Timer, seconds: float, what: str) -> Deadline:
        return cls(timer, timer.monotonic() + seconds, what, seconds)

    def remaining(self) -> float:
        return self.ends_at - self.timer.monotonic()

    def expired(self, why: str) -> CADeadlineExceeded:
        return CADeadlineExceeded(
            f"{self.what}: no result within {self.seconds:g} s ({why})", ADAPTER
        )

    def sleep(self, seconds: float, why: str) -> None:
        """Wait ``seconds`` unless that would pass the deadline: then fail at once."""
        if seconds >= self.remaining():
            raise self.expired(why)
        self.timer.sleep(seconds)


@dataclass(frozen=True)
class _Request:
    """One API request as the retry loop re-sends it."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    token: str | None = None
    idempotent: bool = True


class HVCATransport:
    """One logged-in HTTPS session to the CA; safe to share between threads."""

    def __init__(
        self,
        settings: GlobalSignOptions,
        api_secret: str,
        clock: Clock,
        timer: Timer,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = settings.url.rstrip("/")
        self.clock = clock
        self.timer = timer
        self._api_secret = api_secret
        self._random = rng or random.Random()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_at: datetime | None = None
        self.server_offset = timedelta(0)
        self.logins = 0
        self._http = requests.Session()
        self._http.trust_env = False
        if settings.client_cert:
            self._http.cert = (settings.client_cert, settings.client_key or settings.client_cert)
        self._http.verify = settings.server_ca or True

    def deadline(self, what: str, seconds: float | None = None) -> Deadline:
        return Deadline.start(self.timer, seconds or self.settings.deadline_seconds, what)

    def server_now(self) -> datetime:
        """The CA's clock as estimated from the ``Date`` header of its last answer."""
        return self.clock.now() + self.server_offset

    # -- login --------------------------------------------------------------------------

    def login(self, deadline: Deadline) -> None:
        """Log in now (``ca check``), replacing any cached token."""
        with self._lock:
            self._token = None
            self._login(deadline)

    def ensure_token(self, deadline: Deadline) -> None:
        """Have a usable token before a call that must not be sent twice."""
        self._current_token(deadline)

    def _current_token(self, deadline: Deadline) -> str:
        """The cached token, or a fresh one; one login at a time across threads."""
        with self._lock:
            lifetime = timedelta(seconds=self.settings.token_lifetime_seconds)
            if self._token and self._token_at and self.clock.now() - self._token_at < lifetime:
                return self._token
            return self._login(deadline)

    def _login(self, deadline: Deadline) -> str:
        body = {"api_key": self.settings.api_key, "api_secret": self._api_secret}
        response = self._exchange(_Request("POST", "/login", body), deadline)
        if response.status_code in (401, 403):
            raise CAAuthError(
                f"login refused: {describe(response)} (check api_key/api_secret)", ADAPTER
            )
        if response.status_code != 200:
            fail(response, "login")
        token = json_body(response, "login").get("access_token")
        if not isinstance(token, str) or not token:
            raise CAUnavailable("login answer has no access_token", ADAPTER)
        self.logins += 1
        self._token, self._token_at = token, self.clock.now()
        log.info("ca.login", adapter=ADAPTER, url=self.base_url)
        return token

    def _forget(self, token: str) -> None:
        """Drop ``token`` after a 401 unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _note_server_time(self, response: requests.Response) -> None:
        date = response.headers.get("Date")
        if date:
            try:
                self.server_offset = parsedate_to_datetime(date) - self.clock.now()
            except (TypeError, ValueError):
                pass

    # -- calls --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        idempotent: bool = True,
    ) -> requests.Response:
        """An authenticated call; re-logs in once after a 401."""
        relogged = False
        while True:
            token = self._current_token(deadline)
            request = _Request(method, path, body, params, token, idempotent)
            response = self._exchange(request, deadline)
            if response.status_code != 401:
                return response
            if relogged:
                raise CAAuthError(f"{method} {path}: token refused right after login", ADAPTER)
            relogged = True
            self._forget(token)

    def _exchange(self, request: _Request, deadline: Deadline) -> requests.Response:
        """Send until an answer that is not 429/503, within the deadline."""
        method, path = request.method, request.path
        attempt = 0
        while True:
            response = self._send(request, deadline)
            if response is not None:
                self._note_server_time(response)
                if response.status_code not in RETRYABLE:
                    return response
            delay, asked = self._delay(response, attempt)
            why = f"HTTP {response.status_code}" if response is not None else "connection failed"
            if asked and delay >= deadline.remaining():
                why += (
                    f"; the CA asks to retry after {delay:g} s (Retry-After), more than the "
                    f"{max(deadline.remaining(), 0):.0f} s left"
                )
            log.info("ca.retry", adapter=ADAPTER, path=path, why=why, delay=round(delay, 3))
            deadline.sleep(delay, f"{method} {path}: {why}")
            attempt += 1

    def _send(self, request: _Request, deadline: Deadline) -> requests.Response | None:
        """One HTTP exchange; ``None`` when it failed in a way that is safe to retry."""
        method, path, body, token = request.method, request.path, request.body, request.token
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline.expired(f"{method} {path}")
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = JSON_TYPE
            data = json.dumps(body).encode()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return self._http.request(
                method,
                self.base_url + path,
                data=data,
                params=request.params,
                headers=headers,
                timeout=min(self.settings.timeout_seconds, remaining),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise CAUnavailable(f"TLS to {self.base_url} failed: {exc}", ADAPTER) from exc
        except requests.RequestException as exc:
            if request.idempotent or _never_sent(exc):
                return None
            raise CAUnavailable(
                f"{method} {path}: the answer was lost ({type(exc).__name__}); the CA may "
                "have acted: run 'certsvc reconcile' before retrying",
                ADAPTER,
            ) from exc

    def _delay(self, response: requests.Response | None, attempt: int) -> tuple[float, bool]:
        """``Retry-After`` when the CA gives one (True), else capped exponential backoff
        with jitter (False)."""
        if response is not None:
            asked = retry_after(response.headers.get("Retry-After"), self.server_now())
            if asked is not None:
                return asked, True
        cap = min(self.settings.retry_max_seconds, self.settings.retry_initial_seconds * 2**attempt)
        return self._random.uniform(cap / 2, cap), False


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection failed before any byte of the request left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def retry_after(value: str | None, server_now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - server_now).total_seconds())


def describe(response: requests.Response) -> str:
    """The problem+json ``description`` (the only reliable field), else the status."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("description"), str):
        return str(data["description"])
    return f"HTTP {response.status_code}"


def json_body(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise CAUnavailable(f"{what}: the CA answered with malformed JSON", ADAPTER) from exc
    if not isinstance(data, dict):
        raise CAUnavailable(f"{what}: the CA answered with unexpected JSON", ADAPTER)
    return data


def fail(response: requests.Response, what: str) -> NoReturn:
    """Translate an unexpected answer into the certsvc error a user can act on."""
    status, description = response.status_code, describe(response)
    if status == 402:
        raise QuotaExceeded(f"{what}: issuance quota used up ({description})", ADAPTER)
    if status in (400, 409, 415, 422):
        raise CARejected(f"{what}: {description}", ADAPTER)
    if status in (401, 403):
        raise CAAuthError(f"{what}: access refused ({description})", ADAPTER)
    raise CAUnavailable(f"{what}: unexpected answer HTTP {status} ({description})", ADAPTER)

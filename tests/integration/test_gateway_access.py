"""Who may read the gateway feed: a ``gateway`` or ``admin`` token, checked from memory.

``/gateway/allowlist``, ``/gateway/allowlist/changes`` and ``/gateway/check`` need it
(unless ``[gateway] require_token = false``); CRLs, OCSP, health and metrics stay public.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.directory import NewSubscriber
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER, make_settings
from tests.integration.test_allowlist_http import wait_for
from tests.keys import make_csr

ALLOWED = {"/gateway/allowlist": 200, "/gateway/allowlist/changes?since=0": 200}
FEED = [*ALLOWED, "/gateway/check"]


@pytest.fixture
def sha1(services: Services, subscriber) -> str:
    """An issued certificate's SHA-1, so a check that gets past the token says 204."""
    issued = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    assert issued.certificate.sha1
    return issued.certificate.sha1


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    made = {role: services.tokens.create(role, f"{role}-1") for role in ("admin", "helpdesk")}
    made["gateway"] = services.tokens.create("gateway", "gateway-1")
    made["tenant-admin"] = services.tokens.create("tenant-admin", "tenant-1", COMPANY)
    return made


@pytest.fixture
def feed(services: Services, sha1: str, tokens) -> TestClient:
    """The app with the certificate and the tokens loaded (what the serving loop does)."""
    services.gateway.poll_once()
    return TestClient(create_app(services), headers={"X-Client-Cert-Fingerprint": sha1})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expected(path: str) -> int:
    return ALLOWED.get(path, 204)


@pytest.mark.parametrize("path", FEED)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer csv_not-a-token-at-all", "Basic Z2F0ZXdheTpzZWNyZXQ=", "Bearer "],
)
def test_no_or_a_bad_token_is_401_problem_json(feed, path, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = feed.get(path, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["status"] == 401
    assert "missing, unknown or revoked API token" in answer.json()["detail"]


@pytest.mark.parametrize("path", FEED)
@pytest.mark.parametrize("role", ["helpdesk", "tenant-admin"])
def test_a_token_of_another_role_is_403(feed, tokens, path, role):
    answer = feed.get(path, headers=bearer(tokens[role]))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert f"role {role} may not read the gateway feed" in answer.json()["detail"]


@pytest.mark.parametrize("path", FEED)
@pytest.mark.parametrize("role", ["gateway", "admin"])
def test_gateway_and_admin_tokens_read_the_feed(feed, tokens, path, role):
    answer = feed.get(path, headers=bearer(tokens[role]))
    assert answer.status_code == expected(path), answer.text


def test_a_refused_check_is_counted_and_a_revoked_certificate_still_403(feed, tokens):
    assert feed.get("/gateway/check").status_code == 401
    assert feed.get("/gateway/check", headers=bearer(tokens["helpdesk"])).status_code == 403
    unknown = {"X-Client-Cert-Fingerprint": "ab" * 20, **bearer(tokens["gateway"])}
    assert feed.get("/gateway/check", headers=unknown).status_code == 403
    metrics = feed.get("/metrics").text
    assert 'certsvc_gateway_checks_total{result="unauthorized"} 2.0' in metrics
    assert 'certsvc_gateway_checks_total{result="denied"} 1.0' in metrics


def test_crls_ocsp_health_and_metrics_stay_public(feed):
    for path in ("/crl/bundle.pem", "/crl/issuing.crl", "/healthz", "/readyz", "/metrics"):
        assert feed.get(path).status_code == 200, path
    ocsp = feed.post(
        "/ocsp", content=b"not DER", headers={"Content-Type": "application/ocsp-request"}
    )
    assert ocsp.status_code not in (401, 403)


def test_a_revoked_token_is_refused_at_the_next_poll(services, feed, tokens):
    headers = bearer(tokens["gateway"])
    assert feed.get("/gateway/check", headers=headers).status_code == 204
    services.tokens.revoke("gateway-1")
    services.gateway.poll_once()
    for path in FEED:
        assert feed.get(path, headers=headers).status_code == 401, path
    assert feed.get("/gateway/check", headers=bearer(tokens["admin"])).status_code == 204


def test_a_revoked_token_is_refused_within_the_polling_interval(services, sha1, tokens):
    """The serving loop (lifespan) reloads the tokens every ``poll_seconds`` (0.5 s)."""
    headers = {"X-Client-Cert-Fingerprint": sha1, **bearer(tokens["gateway"])}
    with TestClient(create_app(services)) as served:
        wait_for(lambda: served.get("/gateway/check", headers=headers).status_code == 204)
        services.tokens.revoke("gateway-1")
        revoked_at = time.monotonic()
        wait_for(lambda: served.get("/gateway/check", headers=headers).status_code == 401)
        waited = time.monotonic() - revoked_at
    assert waited < services.settings.gateway.poll_seconds + 0.5


def test_a_new_token_works_after_the_next_poll_and_its_use_is_recorded(services, feed, clock):
    token = services.tokens.create("gateway", "gateway-2")
    assert feed.get("/gateway/check", headers=bearer(token)).status_code == 401  # not yet known
    services.gateway.poll_once()
    assert feed.get("/gateway/check", headers=bearer(token)).status_code == 204
    assert feed.get("/gateway/allowlist", headers=bearer(token)).status_code == 200
    services.gateway.poll_once()
    used = {info.name: info.last_used_at for info in services.tokens.list()}
    assert used["gateway-2"] == clock.now().isoformat()
    assert used["gateway-1"] is None


def test_require_token_false_keeps_the_feed_open(tmp_path, database_url, clock):
    settings = make_settings(tmp_path / "open", database_url, gateway={"require_token": False})
    opened = Services(settings, clock)
    opened.initialise()
    opened.directory.add_tenant(COMPANY, "Acme KK", "admin@acme.example.jp", OPERATOR)
    opened.directory.add_subscriber(NewSubscriber(COMPANY, USER, "taro@acme.example.jp"), OPERATOR)
    issued = opened.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    opened.gateway.poll_once()
    client = TestClient(create_app(opened))
    for path in ALLOWED:
        assert client.get(path).status_code == 200, path
    identity = {"X-Client-Cert-Fingerprint": issued.certificate.sha1 or ""}
    assert client.get("/gateway/check", headers=identity).status_code == 204
    opened.close()

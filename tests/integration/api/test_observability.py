"""What a dashboard scrapes after known operations, and the access log line of a request."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from certsvc.clock import parse_instant
from certsvc.logging import configure_logging
from certsvc.storage.db import transaction
from certsvc.storage.models import JobRun
from tests.integration.api.conftest import bearer, issue


def scrape(api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.get("/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.usefixtures("tenants")
def test_scrape_after_issuing_revoking_and_a_nightly_run(api, tokens, services, clock):
    first = issue(api, tokens["helpdesk"])
    issue(api, tokens["helpdesk"], "2002", "jiro")
    revoked = api.post(
        f"/api/v1/certificates/{first['serial']}/revoke",
        json={"reason": "keyCompromise", "ticket": "T-9"},
        headers=bearer(tokens["helpdesk"]),
    )
    assert revoked.status_code == 200, revoked.text
    crls = services.crls.current()
    with transaction(services.sessions) as session:
        ran = clock.now() - timedelta(hours=2)
        session.add(
            JobRun(
                job="nightly",
                business_date=ran.date(),
                started_at=ran,
                finished_at=ran,
                counts={"errors": ["reconcile: the CA did not answer"]},
            )
        )
    clock.advance(timedelta(hours=1))
    samples = scrape(api)

    assert value(samples, "certsvc_issuances_total", outcome="ok") == 2
    assert value(samples, "certsvc_revocations_total", reason="keyCompromise") == 1
    assert value(samples, "certsvc_certificates", state="issued") == 1
    assert value(samples, "certsvc_certificates", state="revoked") == 1
    assert value(samples, "certsvc_certificates_expiring", days="30") == 0
    assert value(samples, "certsvc_outbox_queued") >= 3  # two issued mails, one revoked
    assert value(samples, "certsvc_outbox_oldest_age_seconds") == 3600
    for crl in crls:
        assert value(samples, "certsvc_crl_age_seconds", ca=crl.ca_name) == 3600 + 300
        left = (crl.next_update - clock.now()).total_seconds()
        assert value(samples, "certsvc_crl_seconds_to_next_update", ca=crl.ca_name) == left
    assert (
        value(samples, "certsvc_job_last_run_timestamp_seconds", job="nightly") == ran.timestamp()
    )
    assert value(samples, "certsvc_job_last_run_errors", job="nightly") == 1
    root_expiry = services.adapter.trust_chain()[-1].not_valid_after_utc.timestamp()
    assert root_expiry in {
        v for (name, _), v in samples.items() if name == "certsvc_ca_not_after_timestamp_seconds"
    }
    route = "/api/v1/certificates/{serial}/revoke"
    assert (
        value(samples, "certsvc_http_requests_total", route=route, method="POST", status="200") == 1
    )
    assert (
        value(
            samples,
            "certsvc_http_requests_total",
            route="/api/v1/certificates",
            method="POST",
            status="201",
        )
        == 2
    )
    assert value(samples, "certsvc_http_request_duration_seconds_count", route=route) == 1


@pytest.mark.usefixtures("tenants")
def test_expiring_windows_count_issued_certificates_near_not_after(api, tokens, clock):
    issued = issue(api, tokens["helpdesk"])
    not_after = issued["not_after"]
    clock.set(parse_instant(not_after) - timedelta(days=10))
    samples = scrape(api)
    assert value(samples, "certsvc_certificates_expiring", days="30") == 1
    assert value(samples, "certsvc_certificates_expiring", days="7") == 0


@pytest.mark.usefixtures("tenants")
def test_access_log_line_names_route_status_actor_and_no_secret(api, tokens):
    serial = issue(api, tokens["helpdesk"])["serial"]
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    try:
        assert (
            api.get(
                f"/api/v1/certificates/{serial}", headers=bearer(tokens["helpdesk"])
            ).status_code
            == 200
        )
        assert api.get("/api/v1/certificates/00", headers=bearer("wrong")).status_code == 401
        logging.getLogger("uvicorn.error").info("Started server process")
    finally:
        configure_logging("json", "info")  # the stdlib bridge back on stderr
        structlog.reset_defaults()  # as other tests expect structlog (prints to stdout)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["event"] == "http.request"]
    ok, refused = requests
    assert (ok["route"], ok["method"], ok["status"], ok["actor"]) == (
        "/api/v1/certificates/{serial}",
        "GET",
        200,
        "api:helpdesk-1",
    )
    assert ok["duration_ms"] >= 0
    assert (refused["status"], refused["actor"]) == (401, "-")
    assert serial not in stream.getvalue()
    assert tokens["helpdesk"] not in stream.getvalue()
    uvicorn_line = next(line for line in lines if line["event"] == "Started server process")
    assert (uvicorn_line["logger"], uvicorn_line["level"]) == ("uvicorn.error", "info")


def test_a_missing_ca_key_leaves_the_scrape_up(api, services, tmp_path):
    """The CA's families drop out (up = 0); the gateway feed's metrics are still served."""
    for key in services.adapter.directory.glob("*.key"):
        key.rename(tmp_path / key.name)
    services.adapter._authorities.clear()
    samples = scrape(api)
    assert value(samples, "certsvc_service_metrics_up") == 0
    assert ("certsvc_feed_version", ()) in samples
    assert not any(name == "certsvc_certificates" for name, _ in samples)

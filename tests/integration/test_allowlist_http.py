"""The allowlist, its change log and the auth_request check, over HTTP (as a gateway,
with a gateway token; who else may ask is ``test_gateway_access.py``)."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi.testclient import TestClient

from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.directory import NewSubscriber
from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from tests import timestamps
from tests.conftest import COMPANY, OPERATOR
from tests.keys import make_csr


def gateway_token(services: Services, name: str = "gateway-1") -> dict[str, str]:
    """The Authorization header of a new gateway token."""
    return {"Authorization": f"Bearer {services.tokens.create('gateway', name)}"}


@pytest.fixture
def client(services):
    """The app in-process as a gateway calls it (its token known after ``poll_once``)."""
    headers = gateway_token(services)
    services.gateway.poll_once()
    return TestClient(create_app(services), headers=headers)


@pytest.fixture
def two_certificates(services, subscriber):
    """Two issued certificates (taro and hanako), as PEM-loaded x509 objects."""
    services.directory.add_subscriber(
        NewSubscriber(COMPANY, "hanako", "hanako@acme.example.jp", "Hanako"), OPERATOR
    )
    pems = [
        services.lifecycle.issue(COMPANY, user, CsrKey(make_csr()), OPERATOR).certificate_pem
        for user in ("taro", "hanako")
    ]
    services.gateway.poll_once()
    return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]


def revoke(services, certificate):
    serial = f"{certificate.serial_number:X}"
    services.lifecycle.revoke(serial, RevocationReason.keyCompromise, OPERATOR)
    services.gateway.poll_once()


def sha1(certificate) -> str:
    return certificate.fingerprint(hashes.SHA1()).hex()


def sha256(certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def test_json_allowlist_lists_issued_certificates(client, two_certificates):
    answer = client.get("/gateway/allowlist")
    assert answer.status_code == 200
    document = answer.json()
    assert document["version"] == 2
    assert answer.headers["x-feed-version"] == "2"
    assert document["generated_at"].startswith("2026-11-26T01:00:00")
    entries = {entry["sha256"]: entry for entry in document["entries"]}
    assert set(entries) == {sha256(c) for c in two_certificates}
    first = entries[sha256(two_certificates[0])]
    assert first["sha1"] == sha1(two_certificates[0])
    assert first["serial"] == f"{two_certificates[0].serial_number:X}".zfill(32)
    assert first["issuer"] == "CN=certsvc Issuing CA 1,O=certsvc"
    assert "CN=taro" in first["subject"]
    assert first["not_after"].startswith("2028-11-26T14:59:59")


def test_revocation_changes_version_etag_and_list(client, services, two_certificates):
    before = client.get("/gateway/allowlist")
    assert (
        client.get(
            "/gateway/allowlist", headers={"If-None-Match": before.headers["etag"]}
        ).status_code
        == 304
    )
    revoke(services, two_certificates[0])
    after = client.get("/gateway/allowlist", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["version"] == 3
    assert [e["sha256"] for e in after.json()["entries"]] == [sha256(two_certificates[1])]
    again = client.get("/gateway/allowlist", headers={"If-None-Match": after.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_text_formats(client, two_certificates):
    taro, hanako = two_certificates
    nginx = client.get("/gateway/allowlist?format=nginx-map").text.splitlines()
    assert nginx[0].startswith("# certsvc allowlist version 2 ")
    assert sorted(nginx[1:]) == sorted(f"{sha1(c)} 1;" for c in two_certificates)
    haproxy = client.get("/gateway/allowlist?format=haproxy").text.splitlines()
    assert sorted(haproxy[1:]) == sorted([sha256(taro), sha256(hanako)])
    text = client.get("/gateway/allowlist?format=text").text.splitlines()
    serial = f"{taro.serial_number:X}".zfill(32)
    assert f"{serial} {sha1(taro)} {sha256(taro)}" in text
    bad = client.get("/gateway/allowlist?format=yaml")
    assert bad.status_code == 422
    assert "json, text, nginx-map, haproxy" in bad.json()["detail"]


def test_nginx_map_file_is_accepted_by_nginx(client, two_certificates, tmp_path):
    (tmp_path / "allow.map").write_bytes(client.get("/gateway/allowlist?format=nginx-map").content)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events {}\nhttp { map $ssl_client_fingerprint $ok { default 0; include allow.map; } }\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_day_after_expiry_drops_out_without_a_nightly_run(
    client, services, clock, two_certificates
):
    before = client.get("/gateway/allowlist")
    clock.set(timestamps.day_after)
    after = client.get("/gateway/allowlist", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["entries"] == []
    assert after.json()["version"] == before.json()["version"]
    fingerprint = sha1(two_certificates[0])
    assert (
        client.get("/gateway/check", headers={"X-Client-Cert-Fingerprint": fingerprint}).status_code
        == 403
    )
    lapsed = client.get("/gateway/allowlist/changes?since=2").json()["lapsed"]
    assert {entry["sha1"] for entry in lapsed} == {sha1(c) for c in two_certificates}


def test_change_log_since_a_version(client, services, two_certificates):
    everything = client.get("/gateway/allowlist/changes?since=0").json()
    assert [(c["version"], c["op"]) for c in everything["changes"]] == [(1, "add"), (2, "add")]
    revoke(services, two_certificates[0])
    delta = client.get("/gateway/allowlist/changes?since=2").json()
    assert delta["version"] == 3
    assert delta["more"] is False
    assert delta["changes"] == [
        {
            "version": 3,
            "op": "remove",
            "serial": f"{two_certificates[0].serial_number:X}".zfill(32),
            "sha256": sha256(two_certificates[0]),
            "sha1": sha1(two_certificates[0]),
        }
    ]
    page = client.get("/gateway/allowlist/changes?since=0&limit=2").json()
    assert (page["version"], page["more"], len(page["changes"])) == (2, True, 2)
    assert client.get("/gateway/allowlist/changes?since=3").json()["changes"] == []


def test_change_log_answers_410_when_trimmed_or_unknown(client, services, clock, two_certificates):
    assert client.get("/gateway/allowlist/changes?since=99").status_code == 410
    clock.advance(timedelta(days=services.settings.gateway.changes_keep_days, seconds=1))
    revoke(services, two_certificates[0])
    assert services.gateway.prune_changes() == 2
    gone = client.get("/gateway/allowlist/changes?since=1")
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert "fetch /gateway/allowlist" in gone.json()["detail"]
    kept = client.get("/gateway/allowlist/changes?since=2").json()
    assert [c["version"] for c in kept["changes"]] == [3]
    assert client.get("/gateway/allowlist/changes").status_code == 422


def test_check_by_every_identity(client, services, two_certificates, tmp_path):
    taro, hanako = two_certificates
    leaf = tmp_path / "taro.pem"
    leaf.write_text(services.lifecycle.pem(f"{taro.serial_number:X}"))
    issuer = subprocess.run(
        ["openssl", "x509", "-in", leaf, "-noout", "-issuer", "-nameopt", "RFC2253"],
        capture_output=True, text=True, check=True,
    ).stdout.strip().removeprefix("issuer=")  # fmt: skip
    pem = leaf.read_text()
    by_serial = {"X-Client-Cert-Serial": f"{taro.serial_number:X}".zfill(32)}
    ways = [
        {"headers": {"X-Client-Cert-Fingerprint": sha1(taro)}},
        {"headers": {**by_serial, "X-Client-Cert-Issuer": issuer}},
        {"headers": {"X-Client-Cert": quote(pem, safe="")}},
        {"params": {"sha256": sha256(taro)}},
        {"params": {"sha1": sha1(taro).upper()}},
    ]
    for way in ways:
        assert client.get("/gateway/check", **way).status_code == 204, way
    revoke(services, taro)
    for way in ways:
        assert client.get("/gateway/check", **way).status_code == 403, way
    assert client.get("/gateway/check", params={"sha256": sha256(hanako)}).status_code == 204
    metrics = client.get("/metrics").text
    assert 'certsvc_gateway_checks_total{result="allowed"} 6.0' in metrics
    assert 'certsvc_gateway_checks_total{result="denied"} 5.0' in metrics


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "no client certificate identity"),
        ({"X-Client-Cert-Fingerprint": ""}, "no client certificate identity"),
        ({"X-Client-Cert-Fingerprint": "abc"}, "fingerprint must be 40 hex digits"),
        ({"X-Client-Cert-Serial": "0A"}, "go together"),
        ({"X-Client-Cert": "not a cert"}, "URL-escaped PEM"),
    ],
)
def test_check_without_a_usable_identity_is_400(client, headers, detail):
    answer = client.get("/gateway/check", headers=headers)
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]


def test_unknown_certificate_is_403(client):
    assert client.get("/gateway/check", params={"sha1": "ab" * 20}).status_code == 403


def test_a_change_by_another_process_reaches_a_serving_instance_within_2_seconds(
    services, clock, two_certificates
):
    other = Services(services.settings, clock)
    headers = gateway_token(services)
    with TestClient(create_app(other), headers=headers) as instance:  # lifespan: the loop runs
        fingerprint = {"X-Client-Cert-Fingerprint": sha1(two_certificates[0])}
        wait_for(lambda: instance.get("/gateway/check", headers=fingerprint).status_code == 204)
        first_crl = instance.get("/crl/issuing.crl").headers["etag"]
        serial = f"{two_certificates[0].serial_number:X}"
        services.lifecycle.revoke(serial, RevocationReason.keyCompromise, OPERATOR)
        started = time.monotonic()
        wait_for(lambda: instance.get("/gateway/check", headers=fingerprint).status_code == 403)
        wait_for(lambda: instance.get("/crl/issuing.crl").headers["etag"] != first_crl)
        assert time.monotonic() - started < 2.0
        crl = x509.load_der_x509_crl(instance.get("/crl/issuing.crl").content)
        assert crl.get_revoked_certificate_by_serial_number(two_certificates[0].serial_number)
    other.engine.dispose()


def wait_for(condition, timeout: float = 5.0) -> None:
    """Bounded polling of a real background loop (no sleeping to make time pass)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_before_the_first_load_everything_says_not_ready(services):
    fresh = TestClient(create_app(services))  # no poll yet: the allowlist is not loaded
    assert fresh.get("/gateway/check", params={"sha1": "ab" * 20}).status_code == 503
    assert fresh.get("/gateway/allowlist").status_code == 503
    ready = fresh.get("/readyz")
    assert ready.status_code == 503
    assert "still loading" in ready.json()["detail"]

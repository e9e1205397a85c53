"""CRLs over HTTP: formats, validators, 304s, cache lifetime, the stale-CRL alarm."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from email.utils import parsedate_to_datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certsvc.domain.policy import RevocationReason
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import OPERATOR
from tests.keys import make_csr


def test_issuing_crl_is_der_with_validators_and_bounded_cache(client, services, clock):
    answer = client.get("/crl/issuing.crl")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(answer.content)
    assert crl.issuer.rfc4514_string() == "CN=certsvc Issuing CA 1,O=certsvc"
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    assert answer.headers["etag"] == '"issuing-1-der"'
    assert parsedate_to_datetime(answer.headers["last-modified"]) == crl.last_update_utc
    max_age = int(answer.headers["cache-control"].split("max-age=")[1].split(",")[0])
    assert 0 < max_age < (crl.next_update_utc - clock.now()).total_seconds()


def test_pem_documents_and_bundle_hold_every_ca(client):
    root = client.get("/crl/root.pem")
    assert root.status_code == 200
    assert (
        x509.load_pem_x509_crl(root.content).issuer.rfc4514_string().startswith("CN=certsvc Root")
    )
    bundle = client.get("/crl/bundle.pem").content
    issuers = {
        x509.load_pem_x509_crl(b"-----BEGIN X509 CRL" + part).issuer.rfc4514_string()
        for part in bundle.split(b"-----BEGIN X509 CRL")[1:]
    }
    assert issuers == {"CN=certsvc Root CA,O=certsvc", "CN=certsvc Issuing CA 1,O=certsvc"}


def test_conditional_gets_answer_304_without_body(client):
    first = client.get("/crl/bundle.pem")
    by_etag = client.get("/crl/bundle.pem", headers={"If-None-Match": first.headers["etag"]})
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag.headers["etag"] == first.headers["etag"]
    by_date = client.get(
        "/crl/bundle.pem", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert by_date.status_code == 304
    other = client.get("/crl/bundle.pem", headers={"If-None-Match": '"bundle.root-0"'})
    assert other.status_code == 200


def test_head_gives_length_without_body(client):
    answer = client.head("/crl/issuing.crl")
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) == len(client.get("/crl/issuing.crl").content)


def test_unknown_ca_is_a_problem_404(client):
    answer = client.get("/crl/nosuch.crl")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "nosuch.crl" in answer.json()["detail"]


def test_revocation_is_on_the_next_crl_and_openssl_refuses_it(
    client, services, subscriber, tmp_path
):
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    client.get("/crl/issuing.crl")
    services.lifecycle.revoke(issued.certificate.serial, RevocationReason.keyCompromise, OPERATOR)
    services.gateway.crls.refresh()
    crl = x509.load_der_x509_crl(client.get("/crl/issuing.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(int(issued.certificate.serial, 16))
    chain = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in services.adapter.trust_chain()
    )
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "crls.pem").write_bytes(client.get("/crl/bundle.pem").content)
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)
    at = str(int(services.clock.now().timestamp()) + 60)
    result = subprocess.run(
        ["openssl", "verify", "-crl_check_all", "-attime", at, "-CAfile", tmp_path / "chain.pem",
         "-CRLfile", tmp_path / "crls.pem", tmp_path / "leaf.pem"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout + result.stderr


def test_stale_crl_raises_the_alarm(client, services, clock, tmp_path, capsys):
    client.get("/crl/issuing.crl")
    assert client.get("/readyz").status_code == 200
    for key in (services.adapter.directory).glob("*.key"):
        key.rename(tmp_path / key.name)  # the CA key is gone: no fresh CRL can be signed
    services.adapter._authorities.clear()
    clock.advance(timedelta(hours=services.settings.crl.validity_hours, minutes=6))
    services.gateway.crls.tick()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "issuing" in ready.json()["detail"]
    assert 'certsvc_crl_stale{ca="issuing"} 1.0' in client.get("/metrics").text
    assert "crl.stale" in capsys.readouterr().out
    stale = client.get("/crl/issuing.crl")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"

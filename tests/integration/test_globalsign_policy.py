"""Requests shaped by non-default validation policies of the fake CA, which enforces them."""

from __future__ import annotations

import base64
from datetime import datetime, time, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from ca_adapters.base import IssueRequest, SubjectInfo
from certsvc.errors import CARejected
from certsvc.lifecycle.operations import CsrKey, ServerKey
from certsvc.lifecycle.server_keys import proof_signer
from certsvc.storage.models import Certificate
from tests.conftest import COMPANY, OPERATOR, USER
from tests.integration.conftest import globalsign_settings, open_services
from tests.keys import make_csr, make_key
from tests.timestamps import JST

PASSWORD = b"pickup password"
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def issue(services, key):
    return services.lifecycle.issue(COMPANY, USER, key, OPERATOR)


def certificate_of(issued):
    return x509.load_pem_x509_certificate(issued.certificate_pem.encode())


def spki(key):
    return key.public_bytes(*SPKI)


def stored(services):
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Certificate))


def test_pkcs10_policy_is_sent_the_subscribers_csr(gs_services, hvca):
    hvca.ca.policy["public_key"]["key_format"] = "PKCS10"
    csr = make_csr()

    issued = issue(gs_services, CsrKey(csr))

    (post,) = hvca.seen.posts
    assert post["public_key"] == csr.decode()
    assert "public_key_signature" not in post
    requested = x509.load_pem_x509_csr(csr).public_key()
    assert spki(certificate_of(issued).public_key()) == spki(requested)


def test_pkcs10_policy_is_sent_a_csr_for_a_server_made_key(gs_services, hvca):
    hvca.ca.policy["public_key"]["key_format"] = "PKCS10"

    issued = issue(gs_services, ServerKey(PASSWORD))

    (post,) = hvca.seen.posts
    sent = x509.load_pem_x509_csr(post["public_key"].encode())
    key, certificate, _chain = pkcs12.load_key_and_certificates(issued.pkcs12, PASSWORD)
    assert key is not None
    assert certificate is not None
    assert spki(sent.public_key()) == spki(key.public_key()) == spki(certificate.public_key())


def test_required_key_signature_is_made_with_the_server_made_key(gs_services, hvca):
    hvca.ca.policy["public_key_signature"] = "REQUIRED"

    issued = issue(gs_services, ServerKey(PASSWORD))

    (post,) = hvca.seen.posts
    public_key = certificate_of(issued).public_key()
    signature = base64.b64decode(post["public_key_signature"])
    public_key.verify(signature, spki(public_key), ec.ECDSA(hashes.SHA256()))


def test_the_fake_refuses_a_key_signature_made_by_another_key(gs_services, hvca, clock):
    hvca.ca.policy["public_key_signature"] = "REQUIRED"
    now = clock.now()
    request = IssueRequest(
        "request-1",
        SubjectInfo("Acme KK", USER, "taro@acme.example.jp"),
        make_key().public_key(),
        None,
        now,
        now + timedelta(days=365),
        requested_at=now,
        key_proof=proof_signer(make_key()),
    )
    with pytest.raises(CARejected, match="public_key_signature does not verify"):
        gs_services.adapter.issue(request)
    assert hvca.ca.counter("issued") == 0


def test_required_key_signature_for_a_csr_under_pkcs8_is_refused_before_sending(gs_services, hvca):
    hvca.ca.policy["public_key_signature"] = "REQUIRED"

    with pytest.raises(CARejected, match="requires public_key_signature") as refused:
        issue(gs_services, CsrKey(make_csr()))

    assert "PKCS#12" in str(refused.value)
    assert hvca.seen.posts == []
    assert stored(gs_services) == 0


def test_required_key_signature_under_pkcs10_takes_the_csrs_own_signature(gs_services, hvca):
    hvca.ca.policy["public_key_signature"] = "REQUIRED"
    hvca.ca.policy["public_key"]["key_format"] = "PKCS10"
    csr = make_csr()

    issued = issue(gs_services, CsrKey(csr))

    (post,) = hvca.seen.posts
    assert (post["public_key"], "public_key_signature" in post) == (csr.decode(), False)
    assert issued.certificate.state == "issued"


def test_validity_is_clamped_to_secondsmax_and_the_dates_follow_the_certificate(
    gs_services, hvca, clock
):
    seconds_max = 397 * 86400
    hvca.ca.policy["validity"]["secondsmax"] = seconds_max

    issued = issue(gs_services, CsrKey(make_csr()))

    certificate = certificate_of(issued)
    limit = certificate.not_valid_before_utc + timedelta(seconds=seconds_max)
    ends = certificate.not_valid_after_utc.astimezone(JST)
    assert limit - timedelta(days=1) < ends <= limit  # cut at the last day end within the limit
    assert ends.time() == time(23, 59, 59)
    (post,) = hvca.seen.posts
    assert post["validity"]["not_after"] == int(ends.timestamp())
    invalid_from = datetime.combine(ends.date() + timedelta(days=1), time(0, 0), tzinfo=JST)
    shown = gs_services.lifecycle.show(issued.certificate.serial)
    assert shown.expiry_date == ends.date().isoformat()
    assert shown.not_after == ends.isoformat()
    assert shown.invalid_from == invalid_from.isoformat()
    clock.set(invalid_from - timedelta(seconds=1))
    assert gs_services.lifecycle.expire_due(OPERATOR) == []
    clock.set(invalid_from)  # the nightly run follows the real certificate, not two years
    assert gs_services.lifecycle.expire_due(OPERATOR) == [issued.certificate.serial]


@pytest.mark.parametrize("country", ["OPTIONAL", "FORBIDDEN"])
def test_static_and_forbidden_subject_fields_are_left_out(
    tmp_path, database_url, hvca, clock, timer, country
):
    subject_rules = hvca.ca.policy["subject_dn"]
    subject_rules["organization"] = {"presence": "STATIC", "format": "Acme Holdings KK"}
    subject_rules["country"]["presence"] = country
    settings = globalsign_settings(
        tmp_path / "home", database_url, hvca, {"certificates": {"country": "JP"}}
    )
    services = open_services(settings, clock, timer)
    try:
        issued = issue(services, CsrKey(make_csr()))
    finally:
        services.engine.dispose()

    (post,) = hvca.seen.posts
    sent = {"common_name": USER} | ({"country": "JP"} if country == "OPTIONAL" else {})
    assert post["subject_dn"] == sent
    subject = certificate_of(issued).subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Acme Holdings KK"
    )
    countries = [each.value for each in subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)]
    assert countries == (["JP"] if country == "OPTIONAL" else [])

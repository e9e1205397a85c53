"""Every lifecycle operation, every refusal, and nothing half-written."""

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select

from certsvc.directory import NewSubscriber
from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.domain.policy import RevocationReason
from certsvc.errors import Conflict, InputError, NotFound
from certsvc.lifecycle.operations import CsrKey, ServerKey
from certsvc.storage.certificates import insert_certificate
from certsvc.storage.models import AuditEvent, Certificate, FeedChange, OutboxMessage, Subscriber
from tests import timestamps
from tests.conftest import OPERATOR
from tests.keys import csr_with_broken_signature, make_csr

PASSWORD = b"correct horse 42"


def count(services, model, *where):
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def issue(services, subscriber, **options):
    return services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR, **options)


def load(issued):
    return x509.load_pem_x509_certificate(issued.certificate_pem.encode())


def test_issue_makes_a_client_certificate_for_the_subscriber(services, subscriber):
    issued = issue(services, subscriber)
    view, certificate = issued.certificate, load(issued)
    assert view.state == "issued"
    assert (view.company_number, view.user_id) == subscriber
    assert view.expiry_date == "2028-11-26"
    assert view.not_after == "2028-11-26T23:59:59+09:00"
    assert view.invalid_from == "2028-11-27T00:00:00+09:00"
    assert (
        certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme KK"
    )
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "taro"
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["taro@acme.example.jp"]
    eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == "http://127.0.0.1:8080/crl/issuing.crl"
    assert certificate.serial_number.bit_length() <= 128
    assert view.serial == f"{certificate.serial_number:X}".zfill(len(view.serial))


def test_issue_is_audited_fed_to_the_gateway_and_mailed(services, subscriber):
    serial = issue(services, subscriber).certificate.serial
    assert (
        count(
            services,
            AuditEvent,
            AuditEvent.action == "certificate.issue",
            AuditEvent.serial == serial,
        )
        == 1
    )
    assert count(services, FeedChange, FeedChange.op == "add", FeedChange.serial == serial) == 1
    assert count(services, OutboxMessage, OutboxMessage.kind == "certificate.issued") == 1


def test_a_server_made_key_comes_as_pkcs12_with_the_chain_and_a_friendly_name(services, subscriber):
    issued = services.lifecycle.issue(*subscriber, ServerKey(PASSWORD), OPERATOR)
    assert issued.pkcs12 is not None
    bundle = pkcs12.load_pkcs12(issued.pkcs12, PASSWORD)
    assert bundle.cert is not None
    assert bundle.cert.certificate.serial_number == load(issued).serial_number
    assert len(bundle.additional_certs) == 2
    assert bundle.cert.friendly_name == b"taro (1001) until 2028-11-26"
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_pkcs12(issued.pkcs12, b"wrong password")


def test_a_too_short_pkcs12_password_is_refused_before_issuing(services, subscriber):
    with pytest.raises(InputError, match="password must be"):
        services.lifecycle.issue(*subscriber, ServerKey(b"short"), OPERATOR)
    assert count(services, Certificate) == 0


@pytest.mark.parametrize(
    ("csr", "error", "message"),
    [
        (csr_with_broken_signature(), InputError, "no proof of possession"),
        (make_csr("rsa1024"), InputError, "weak key"),
        (b"not a csr", InputError, "malformed CSR"),
    ],
)
def test_bad_csrs_write_nothing(services, subscriber, csr, error, message):
    with pytest.raises(error, match=message):
        services.lifecycle.issue(*subscriber, CsrKey(csr), OPERATOR)
    assert count(services, Certificate) == 0
    assert count(services, AuditEvent, AuditEvent.action.like("certificate.%")) == 0


def test_unknown_subscriber_and_subscriber_without_certificate_are_refused(services, subscriber):
    with pytest.raises(NotFound, match="unknown subscriber: 1001/jiro"):
        services.lifecycle.issue("1001", "jiro", CsrKey(make_csr()), OPERATOR)
    services.directory.add_subscriber(
        NewSubscriber("1001", "hanako", "hanako@acme.example.jp", needs_certificate=False), OPERATOR
    )
    with pytest.raises(Conflict, match="registered without a certificate"):
        services.lifecycle.issue("1001", "hanako", CsrKey(make_csr()), OPERATOR)
    assert count(services, Certificate) == 0


def test_renew_keeps_the_old_certificate_valid_and_links_both(services, subscriber):
    old = issue(services, subscriber).certificate
    new = services.lifecycle.renew(old.serial, CsrKey(make_csr()), OPERATOR).certificate
    assert new.replaces == old.serial
    old_now = services.lifecycle.show(old.serial)
    assert (old_now.state, old_now.superseded_by) == ("issued", new.serial)
    with pytest.raises(Conflict, match="already renewed or reissued"):
        services.lifecycle.renew(old.serial, CsrKey(make_csr()), OPERATOR)
    assert count(services, Certificate) == 2


def test_pc_change_reissue_revokes_the_old_one_as_superseded(services, subscriber):
    old = issue(services, subscriber).certificate
    new = services.lifecycle.reissue(
        old.serial, ReissueReason.PC_CHANGE, CsrKey(make_csr()), OPERATOR
    ).certificate
    old_now = services.lifecycle.show(old.serial)
    assert (old_now.state, old_now.revocation_reason) == ("revoked", "superseded")
    assert (new.state, new.replaces, old_now.superseded_by) == ("issued", old.serial, new.serial)
    assert (
        count(services, FeedChange, FeedChange.op == "remove", FeedChange.serial == old.serial) == 1
    )
    actions = {"certificate.reissue", "certificate.revoke"}
    assert (
        count(services, AuditEvent, AuditEvent.action.in_(actions), AuditEvent.ticket == "TICKET-1")
        == 2
    )


def test_user_change_needs_the_new_address_and_puts_it_in_the_new_certificate(services, subscriber):
    old = issue(services, subscriber).certificate
    with pytest.raises(InputError, match="new user's e-mail"):
        services.lifecycle.reissue(
            old.serial, ReissueReason.USER_CHANGE, CsrKey(make_csr()), OPERATOR
        )
    issued = services.lifecycle.reissue(
        old.serial,
        ReissueReason.USER_CHANGE,
        CsrKey(make_csr()),
        OPERATOR,
        new_email="jiro@acme.example.jp",
    )
    assert issued.certificate.email == "jiro@acme.example.jp"
    san = load(issued).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["jiro@acme.example.jp"]
    assert services.lifecycle.show(old.serial).revocation_reason == "affiliationChanged"


def test_on_pickup_revokes_the_old_one_at_first_collection(services, subscriber, clock):
    old = issue(services, subscriber).certificate
    new = services.lifecycle.reissue(
        old.serial,
        ReissueReason.PC_CHANGE,
        CsrKey(make_csr()),
        OPERATOR,
        revoke_old=RevokeOld.ON_PICKUP,
    ).certificate
    assert new.awaiting_pickup
    assert services.lifecycle.show(old.serial).state == "issued"
    clock.advance(timedelta(days=2))
    collected = services.lifecycle.collect(new.serial, OPERATOR)
    assert not collected.awaiting_pickup
    assert services.lifecycle.show(old.serial).state == "revoked"
    services.lifecycle.collect(new.serial, OPERATOR)  # a second pickup changes nothing
    assert count(services, AuditEvent, AuditEvent.action == "certificate.collect") == 1


def test_on_pickup_revokes_the_old_one_after_the_grace_at_the_latest(services, subscriber, clock):
    old = issue(services, subscriber).certificate
    services.lifecycle.reissue(
        old.serial,
        ReissueReason.PC_CHANGE,
        CsrKey(make_csr()),
        OPERATOR,
        revoke_old=RevokeOld.ON_PICKUP,
    )
    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert services.lifecycle.revoke_overdue(OPERATOR) == []
    clock.advance(timedelta(seconds=1))
    assert services.lifecycle.revoke_overdue(OPERATOR) == [old.serial]
    assert services.lifecycle.show(old.serial).revocation_reason == "superseded"


def test_reissue_of_a_revoked_certificate_writes_nothing(services, subscriber):
    old = issue(services, subscriber).certificate
    services.lifecycle.revoke(old.serial, RevocationReason.keyCompromise, OPERATOR)
    with pytest.raises(Conflict, match="is revoked; cannot reissue"):
        services.lifecycle.reissue(
            old.serial, ReissueReason.PC_CHANGE, CsrKey(make_csr()), OPERATOR
        )
    assert count(services, Certificate) == 1


def test_revoke_is_final_and_twice_is_a_clear_error(services, subscriber):
    serial = issue(services, subscriber).certificate.serial
    view = services.lifecycle.revoke(serial.lower(), RevocationReason.keyCompromise, OPERATOR)
    assert (view.state, view.revocation_reason) == ("revoked", "keyCompromise")
    assert view.revoked_at == timestamps.issued.isoformat()
    with pytest.raises(Conflict, match=f"certificate {serial} is revoked; cannot revoke"):
        services.lifecycle.revoke(serial, RevocationReason.superseded, OPERATOR)
    assert count(services, AuditEvent, AuditEvent.action == "certificate.revoke") == 1


def test_revoking_an_unknown_or_malformed_serial(services, subscriber):
    with pytest.raises(NotFound, match="unknown certificate: 0ABC"):
        services.lifecycle.revoke("abc", RevocationReason.unspecified, OPERATOR)
    with pytest.raises(InputError, match="not a certificate serial"):
        services.lifecycle.revoke("zz-top", RevocationReason.unspecified, OPERATOR)


def test_expiry_happens_at_the_midnight_after_the_expiry_date_not_a_second_before(
    services, subscriber, clock
):
    serial = issue(services, subscriber).certificate.serial
    clock.set(timestamps.day_after - timedelta(seconds=1))
    assert services.lifecycle.expire_due(OPERATOR) == []
    clock.set(timestamps.day_after)
    assert services.lifecycle.expire_due(OPERATOR) == [serial]
    assert services.lifecycle.show(serial).state == "expired"
    assert count(services, FeedChange, FeedChange.op == "remove") == 1


def test_reconcile_drops_a_local_request_that_never_completed(services, subscriber, clock):
    with services.sessions.begin() as session:
        subscriber_id = session.scalar(select(Subscriber.id))
        insert_certificate(
            session,
            {
                "subscriber_id": subscriber_id,
                "state": "pending",
                "request_key": "k",
                "requested_at": clock.now(),
                "public_key_sha256": "0" * 64,
                "adapter": "local",
                "email": "taro@acme.example.jp",
                "awaiting_pickup": False,
                "crl_final": False,
            },
        )
    assert services.lifecycle.reconcile(OPERATOR).dropped == 0  # still young: may be in flight
    clock.advance(timedelta(minutes=16))
    result = services.lifecycle.reconcile(OPERATOR)
    assert (result.issued, result.dropped) == ([], 1)
    assert count(services, Certificate) == 0

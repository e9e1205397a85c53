"""CRLs: numbered, backdated, with reasons and AKI, refreshed when due, pruned when expired."""

from datetime import timedelta

from cryptography import x509

from certsvc.app import Services
from certsvc.domain.policy import RevocationReason
from certsvc.feed import crl as crl_module
from certsvc.feed import crl_store
from certsvc.feed.crl import bundle_pem
from certsvc.lifecycle.operations import CsrKey
from tests import timestamps
from tests.conftest import OPERATOR
from tests.keys import make_csr


def crls(services):
    return {crl_file.ca_name: crl_file for crl_file in services.crls.current()}


def revoked_serials(crl_file):
    return {entry.serial_number for entry in x509.load_der_x509_crl(crl_file.der)}


def issue(services, subscriber):
    return services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR).certificate


def test_every_ca_gets_a_full_crl_signed_by_itself(services):
    published = crls(services)
    assert set(published) == {"root", "issuing"}
    chain = {c.subject.rfc4514_string(): c for c in services.adapter.trust_chain()}
    for crl_file in published.values():
        crl = x509.load_der_x509_crl(crl_file.der)
        issuer = chain[crl.issuer.rfc4514_string()]
        assert crl.is_signature_valid(issuer.public_key())
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski.digest
        assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1


def test_this_update_is_backdated_and_next_update_follows_config(services):
    crl = x509.load_der_x509_crl(crls(services)["issuing"].der)
    assert crl.last_update_utc == timestamps.issued - timedelta(minutes=5)
    assert crl.next_update_utc == crl.last_update_utc + timedelta(hours=168)


def test_a_revocation_gets_a_new_crl_with_the_reason_and_a_higher_number(services, subscriber):
    first = crls(services)["issuing"]
    assert crls(services)["issuing"].number == first.number  # nothing changed: same CRL
    serial = issue(services, subscriber).serial
    services.lifecycle.revoke(serial, RevocationReason.keyCompromise, OPERATOR)
    second = crls(services)["issuing"]
    assert second.number == first.number + 1
    entry = x509.load_der_x509_crl(second.der).get_revoked_certificate_by_serial_number(
        int(serial, 16)
    )
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
        == "keyCompromise"
    )


def test_a_crl_is_refreshed_when_next_update_comes_near(services, clock):
    first = crls(services)["issuing"]
    clock.advance(timedelta(hours=168 - 96) - timedelta(minutes=6))
    assert crls(services)["issuing"].number == first.number
    clock.advance(timedelta(minutes=2))
    assert crls(services)["issuing"].number == first.number + 1


def test_an_expired_revoked_certificate_leaves_after_one_crl_past_its_expiry(
    services, subscriber, clock
):
    serial = int(issue(services, subscriber).serial, 16)
    services.lifecycle.revoke(f"{serial:X}", RevocationReason.superseded, OPERATOR)
    assert serial in revoked_serials(crls(services)["issuing"])
    clock.set(timestamps.day_after + timedelta(hours=1))  # expired; this CRL still lists it
    assert serial in revoked_serials(crls(services)["issuing"])
    clock.advance(timedelta(days=7))  # the next CRL drops it
    assert serial not in revoked_serials(crls(services)["issuing"])


def test_the_bundle_holds_both_crls_in_pem(services):
    bundle = bundle_pem(services.crls.current())
    assert bundle.count(b"-----BEGIN X509 CRL-----") == 2


def test_a_crl_number_another_instance_took_meanwhile_is_read_not_a_crash(services, monkeypatch):
    """Two instances publish at once (PostgreSQL): both read "no CRL yet", one commits
    number 1 first, the other's insert clashes; it must serve the winner's CRL."""
    other = Services(services.settings, services.clock)  # the other instance, own engine
    real_latest = crl_store.latest
    raced: list[bool] = []
    other_published: list[bool] = []

    def stale_first_read(session, ca_name):
        if other_published and len(raced) < 2:
            raced.append(True)  # the due check and the numbering read before that commit
            return None
        return real_latest(session, ca_name)

    monkeypatch.setattr(crl_module, "latest", stale_first_read)
    other.crls.current()  # the other instance commits number 1 for every CA
    other_published.append(True)

    try:
        published = crls(services)
    finally:
        other.close()
    assert raced == [True, True]
    assert {name: crl_file.number for name, crl_file in published.items()} == {
        "root": 1,
        "issuing": 1,
    }

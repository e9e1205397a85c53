"""Mirroring the external CA's CRL: only verified, fresh copies; the last good one survives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CAUnavailable
from certsvc.lifecycle.operations import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr


def revoke_one(services):
    issued = services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    services.lifecycle.revoke(issued.certificate.serial, RevocationReason.superseded, OPERATOR)
    return issued.certificate.serial


@pytest.mark.parametrize("fault", ["down", "bad-signature", "expired"])
def test_a_bad_download_keeps_the_last_good_copy_and_reports_why(gs_services, hvca, clock, fault):
    revoke_one(gs_services)
    good = {crl.ca_name: crl.number for crl in gs_services.crls.current()}
    hvca.faults.crl = fault
    revoke_one(gs_services)
    assert {crl.ca_name: crl.number for crl in gs_services.crls.current()} == good
    source = gs_services.adapter.revocation_source()
    statuses = gs_services.crls.mirror().refresh(source, force=False)
    assert all(status.error for status in statuses)
    assert not any(status.stale for status in statuses)
    clock.advance(timedelta(days=2))
    assert all(s.stale for s in gs_services.crls.mirror().refresh(source, force=False))


def test_no_good_copy_at_all_is_ca_unavailable(gs_services, hvca):
    revoke_one(gs_services)
    hvca.faults.crl = "bad-signature"
    with pytest.raises(CAUnavailable, match="signature does not verify"):
        gs_services.crls.current()


def test_a_new_revocation_fetches_the_new_crl(gs_services, hvca):
    first = revoke_one(gs_services)
    second = revoke_one(gs_services)
    issuing = next(crl for crl in gs_services.crls.current() if crl.ca_name == "issuing")
    serials = {format_serial(entry.serial_number) for entry in x509.load_der_x509_crl(issuing.der)}
    assert {first, second} <= serials

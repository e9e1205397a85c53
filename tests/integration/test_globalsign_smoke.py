from certsvc.lifecycle import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr


def test_issue_through_the_fake(gs_services, hvca):
    issued = gs_services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    assert issued.certificate.state == "issued"
    print(issued.certificate)
    assert hvca.seen.logins == 1


def test_revoke_and_crl(gs_services, hvca):
    from certsvc.policy import RevocationReason
    issued = gs_services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    gs_services.lifecycle.revoke(issued.certificate.serial, RevocationReason.keyCompromise, OPERATOR)
    files = gs_services.crls.current()
    print([(f.ca_name, f.number) for f in files])

from certsvc.lifecycle import CsrKey
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr


def test_issue_through_the_fake(gs_services, hvca):
    issued = gs_services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR)
    assert issued.certificate.state == "issued"
    print(issued.certificate)
    assert hvca.seen.logins == 1

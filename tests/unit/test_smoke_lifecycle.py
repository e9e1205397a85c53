from certsvc.lifecycle import CsrKey
from tests.conftest import OPERATOR
from tests.keys import make_csr


def test_issue_gives_an_issued_certificate(services, subscriber):
    issued = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    assert issued.certificate.state == "issued"
    assert issued.certificate.expiry_date == "2028-11-26"

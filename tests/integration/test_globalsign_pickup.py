"""A remote CA's certificate that waits for pickup: its link is written in the transaction
that records the certificate, never before the CA answered and never without it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from certsvc.domain.certificates import CertState
from certsvc.lifecycle.operations import CsrKey, Handover
from certsvc.storage.models import Certificate, OutboxMessage, Pickup
from tests.conftest import COMPANY, OPERATOR, USER
from tests.keys import make_csr

BY_LINK = Handover(awaiting_pickup=True, mail_link=True)


def test_the_link_is_written_with_the_issued_certificate(gs_services, hvca):
    issued = gs_services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR, BY_LINK)
    assert issued.certificate.awaiting_pickup is True
    with gs_services.sessions() as session:
        (certificate,) = session.scalars(select(Certificate)).all()
        (pickup,) = session.scalars(select(Pickup)).all()
        (mail,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "pickup.ready")
        ).all()
        assert certificate.state is CertState.ISSUED
        assert (pickup.certificate_id, pickup.action) == (certificate.id, "collect")
        assert mail.payload["serial"] == certificate.serial


@pytest.mark.usefixtures("refused_pickups")
def test_a_link_that_cannot_be_written_leaves_the_request_pending(gs_services, hvca):
    with pytest.raises(Exception, match="pickups refused"):
        gs_services.lifecycle.issue(COMPANY, USER, CsrKey(make_csr()), OPERATOR, BY_LINK)
    with gs_services.sessions() as session:
        states = session.scalars(select(Certificate.state)).all()
        assert states == [CertState.PENDING]  # settled by reconcile, as a lost answer is
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

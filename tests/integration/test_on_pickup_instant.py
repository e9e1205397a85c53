"""An on-pickup predecessor is refused from ``revoke_due_at`` on, by the gateway check,
the allowlist and OCSP, whether or not the nightly run has revoked it yet; the deferred
revocation is audited under the reissue's ticket."""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.x509 import ocsp
from sqlalchemy import select

from certsvc.audit import Actor
from certsvc.domain.certificates import ReissueReason, RevokeOld
from certsvc.lifecycle import expiry
from certsvc.lifecycle.operations import CsrKey
from certsvc.storage.models import AuditEvent
from scheduler.jobs import SCHEDULER
from tests.conftest import OPERATOR
from tests.integration.test_ocsp_http import ocsp_request, post
from tests.keys import make_csr

SECOND = timedelta(seconds=1)
GRACE = timedelta(days=14)  # [reissue] on_pickup_grace_days


def reissue_on_pickup(services, subscriber):
    old = services.lifecycle.issue(*subscriber, CsrKey(make_csr()), OPERATOR)
    services.lifecycle.reissue(
        old.certificate.serial,
        ReissueReason.PC_CHANGE,
        CsrKey(make_csr()),
        Actor("test:helpdesk", "PC-4711"),
        revoke_old=RevokeOld.ON_PICKUP,
    )
    return old


def test_the_gateway_refuses_the_predecessor_one_second_after_its_due_instant(
    client, services, subscriber, clock
):
    tokens = services.tokens.create("gateway", "gateway-1")
    old = reissue_on_pickup(services, subscriber)
    due = clock.now() + GRACE
    services.gateway.poll_once()
    check = {"X-Client-Cert-Fingerprint": old.certificate.sha1, "Authorization": f"Bearer {tokens}"}
    clock.set(due - SECOND)
    assert client.get("/gateway/check", headers=check).status_code == 204
    clock.set(due + SECOND)  # no nightly run, no poll: the instant alone decides
    assert client.get("/gateway/check", headers=check).status_code == 403
    listed = client.get("/gateway/allowlist", headers={"Authorization": f"Bearer {tokens}"})
    assert old.certificate.sha256 not in listed.text
    assert services.lifecycle.show(old.certificate.serial).state == "issued"  # nothing ran


def test_ocsp_answers_revoked_from_the_due_instant(client, services, subscriber, clock):
    old = reissue_on_pickup(services, subscriber)
    due = clock.now() + GRACE
    leaf = x509.load_pem_x509_certificate(old.certificate_pem.encode())
    issuing = services.adapter.trust_chain()[0]
    clock.set(due - SECOND)
    response, _ = post(client, ocsp_request(leaf, issuing))
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    clock.set(due + SECOND)
    response, _ = post(client, ocsp_request(leaf, issuing))
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason == x509.ReasonFlags.superseded
    assert response.revocation_time_utc == due.replace(microsecond=0)


def test_the_deferred_revocation_is_audited_with_the_reissue_ticket(services, subscriber, clock):
    old = reissue_on_pickup(services, subscriber)
    clock.advance(GRACE + SECOND)
    assert expiry.revoke_overdue(services.lifecycle.parts, SCHEDULER) == [old.certificate.serial]
    with services.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "certificate.revoke",
                AuditEvent.serial == old.certificate.serial,
            )
        ).one()
    assert (event.actor, event.ticket) == ("scheduler", "PC-4711")

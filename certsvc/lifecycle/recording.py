"""Recording what the CA did: a certificate issued (with its predecessor settled and, when
it waits for pickup, its link), a revocation, and the intent kept beside a pending row.

Functions of the parts they use, called by the operations (``Lifecycle``), by
``reconcile`` and by ``expiry``; none of them calls back into its caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ca_adapters.base import IssuedCertificate, IssueRequest
from certsvc.audit import Actor
from certsvc.domain.certificates import CertState, Issuance, IssuedRecord, RevokeOld
from certsvc.domain.fingerprints import public_key_sha256
from certsvc.domain.policy import RevocationReason
from certsvc.errors import CAError, Conflict, StillPending
from certsvc.feed.version import record_change
from certsvc.lifecycle import effects, revocations
from certsvc.lifecycle import server_keys as delivery
from certsvc.lifecycle.orders import Issued, Order, Predecessor, Prepared
from certsvc.lifecycle.parts import Parts
from certsvc.lifecycle.pickup_links import LinkTarget, create_link
from certsvc.lifecycle.views import CertificateView, issued_view
from certsvc.storage import certificates as records
from certsvc.storage.db import SessionFactory, transaction
from certsvc.storage.models import Certificate, PendingRequest, Subscriber

PENDING_RETRY_SECONDS = 900
"""Retry-After for a request refused because its key is pending: the default age at
which ``certsvc reconcile`` (and the nightly run) settle a pending row."""
Recorded = tuple[Issuance, CertificateView]
"""What was written for an issued certificate, and how it is shown."""


def store_request(
    session: Session,
    parts: Parts,
    order: Order,
    request: IssueRequest,
    issuance: Issuance | None,
) -> int:
    """Insert the certificate row (pending, or issued for a local CA); claim the predecessor."""
    subscriber = order.subscriber
    if not subscriber.needs_certificate:
        raise Conflict(f"subscriber {subscriber.user_id} is registered without a certificate")
    key_hash = public_key_sha256(request.public_key)
    records.refuse_key_reuse(session, key_hash, subscriber.id, parts.clock.now())
    refuse_done_request(session, request.request_key)
    if issuance is None:
        refuse_pending_key(session, subscriber.id, key_hash)
    row = records.RequestRow(
        subscriber_id=subscriber.id,
        request_key=request.request_key,
        requested_at=request.requested_at,
        public_key_sha256=key_hash,
        adapter=parts.adapter.name,
        email=subscriber.email,
    )
    row_id = records.insert_request(session, row, issuance)
    if order.predecessor is not None:
        old = order.predecessor
        records.claim_predecessor(session, old.id, old.serial, row_id)
    return row_id


def refuse_done_request(session: Session, request_key: str) -> None:
    """A request run again (an ``Idempotency-Key`` whose first run was cut off) finds the
    certificate row of its first run: pending is settled by ``reconcile``, anything else
    was done, and asking the CA again would double the certificate."""
    row = session.execute(
        select(Certificate.id, Certificate.state, Certificate.serial).where(
            Certificate.request_key == request_key
        )
    ).first()
    if row is None:
        return
    if row.state is CertState.PENDING:
        raise StillPending(
            f"this request is still pending at the CA (request {row.id}); "
            "`certsvc reconcile` settles it, retry after that",
            PENDING_RETRY_SECONDS,
        )
    raise Conflict(f"this request was already done: certificate {row.serial}", row.serial)


def refuse_pending_key(session: Session, subscriber_id: int, key_hash: str) -> None:
    """A second request for a key whose first request is still pending could double the
    certificate (the CA may have issued the first): refuse it until ``reconcile`` (or the
    first call) settles that row. The subscriber row is locked first, so two such
    requests cannot both pass (PostgreSQL; SQLite serialises its writers)."""
    session.execute(select(Subscriber.id).where(Subscriber.id == subscriber_id).with_for_update())
    pending = session.scalar(
        select(Certificate.id).where(
            Certificate.public_key_sha256 == key_hash, Certificate.state == CertState.PENDING
        )
    )
    if pending is not None:
        raise StillPending(
            f"a request for this public key is still pending (request {pending}); "
            "it is settled by its own call or by `certsvc reconcile`, retry after that",
            PENDING_RETRY_SECONDS,
        )


def finish(
    session: Session,
    parts: Parts,
    row_id: int | None,
    issued: IssuedCertificate,
    order: Order,
    request: IssueRequest | None,
) -> Recorded:
    """Record what the CA issued, settle the predecessor, write a pickup link if asked.

    ``row_id`` is the pending row of a remote CA; without one, ``request`` is inserted
    as an issued row (local CA). Everything is written in ``session``: one commit.
    """
    now = parts.clock.now()
    record = IssuedRecord.of(issued.certificate, issued.ca_ref, issued.ca_name, parts.settings.zone)
    old = order.predecessor
    issuance = Issuance(record, now, order.awaiting_pickup, old.id if old else None)
    if row_id is None and request is not None:
        row_id = store_request(session, parts, order, request, issuance)
    elif row_id is not None:
        records.mark_issued(session, row_id, issuance)
        forget_intent(session, row_id)
    effects.record_issued(session, issuance, order, now)
    if old is not None:
        _settle_predecessor(session, parts, old, order, now)
    if order.mail_link and order.awaiting_pickup and row_id is not None:
        target = LinkTarget(certificate=(row_id, record.serial))
        create_link(session, parts.settings, order.subscriber, target, order.by, now)
    view = issued_view(issuance, order.subscriber, old.serial if old else None, parts.settings.zone)
    return issuance, view


def _settle_predecessor(
    session: Session, parts: Parts, old: Predecessor, order: Order, now: datetime
) -> None:
    if old.revoke_old is None:
        return
    revocations.forget(session, old.id)
    row = session.get_one(Certificate, old.id)
    if row.state is not CertState.ISSUED:
        return  # revoked or expired meanwhile (a lost answer settled late): nothing to do
    if old.revoke_old is RevokeOld.NOW and not order.revoke_failed:
        effects.mark_revoked(
            session, row, old.reason, order.by, now, previous_holder=parts.tells_previous_holder
        )
        return
    grace = timedelta(days=parts.settings.reissue.on_pickup_grace_days)
    row.revoke_due_at = now if order.revoke_failed else now + grace
    row.revoke_due_reason = old.reason
    # the gateway's index re-reads the row: it refuses the old one from revoke_due_at on
    record_change(session, "add", row.serial or "", row.sha256 or "", now)


def revoke_predecessor_at_ca(parts: Parts, old: Predecessor | None, by: Actor) -> bool:
    """Revoke the old certificate at the CA before recording; True when that failed.

    The intent is written first, so a crash before the recording is completed by
    ``reconcile`` (``finish`` deletes it with the recording).
    """
    if old is None or old.revoke_old is not RevokeOld.NOW or old.foreign:
        return False  # an imported certificate has no CA of certsvc's to ask
    with transaction(parts.sessions) as session:
        revocations.remember(session, old.id, old.reason, by, parts.clock.now())
    try:
        parts.adapter.revoke(int(old.serial, 16), old.reason, parts.clock.now())
    except CAError:
        return True  # recorded as due now: the nightly run retries the revocation
    return False


def packaged(
    parts: Parts, prepared: Prepared, issued: IssuedCertificate, recorded: Recorded
) -> Issued:
    """The caller's answer: the view, the PEM, and a PKCS#12 when certsvc made the key."""
    issuance, view = recorded
    pem = issuance.record.pem
    if prepared.server_key is None or prepared.password is None:
        return Issued(view, pem)
    name = f"{view.user_id} ({view.company_number}) until {view.expiry_date}"
    chain = parts.adapter.trust_chain()
    pkcs12 = delivery.make_pkcs12(
        prepared.server_key,
        issued.certificate,
        chain,
        prepared.password,
        name,
        parts.settings.pickup.pkcs12_compat,
    )
    return Issued(view, pem, pkcs12)


def revoke(parts: Parts, serial: str, reason: RevocationReason, by: Actor) -> CertificateView:
    """Revoke at the CA, then record it, bracketed by an intent (``revocations.revoke``)."""
    return revocations.revoke(parts, serial, reason, by)


# -- the intent of a pending request ------------------------------------------------------


def remember_intent(session: Session, row_id: int, order: Order, server_key: bool) -> None:
    """Keep what a pending request is for, beside it, in its own transaction."""
    old = order.predecessor
    session.add(
        PendingRequest(
            certificate_id=row_id,
            action=old.action if old else "issue",
            predecessor_id=old.id if old else None,
            revoke_old=old.revoke_old if old else None,
            reason=old.reason if old else None,
            awaiting_pickup=order.awaiting_pickup,
            server_key=server_key,
        )
    )


def forget_intent(session: Session, row_id: int) -> None:
    session.execute(delete(PendingRequest).where(PendingRequest.certificate_id == row_id))


def release_predecessor(session: Session, row_id: int) -> None:
    """Undo the claim a request put on the certificate it was to replace."""
    session.execute(
        update(Certificate)
        .where(Certificate.superseded_by_id == row_id)
        .values(superseded_by_id=None)
    )


def abandon(sessions: SessionFactory, pending_id: int) -> None:
    """The CA did not issue: forget the request and release a claimed predecessor."""
    with transaction(sessions) as session:
        row = session.get(Certificate, pending_id, with_for_update=True)
        if row is None or row.state is not CertState.PENDING:
            return  # settled meanwhile: nothing to forget
        release_predecessor(session, pending_id)
        session.delete(row)

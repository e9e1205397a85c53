"""The values an issuance is made of: where the key comes from, what is being replaced,
and what comes back. Shared by the operations, the recording and ``reconcile``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from certsvc.audit import Actor
from certsvc.domain.certificates import RevokeOld
from certsvc.domain.policy import PublicKey, RevocationReason
from certsvc.lifecycle import server_keys as delivery
from certsvc.lifecycle.views import CertificateView
from certsvc.storage.certificates import SubscriberRef


@dataclass(frozen=True)
class CsrKey:
    """The subscriber's browser or PC made the key and sent this CSR (PEM)."""

    pem: bytes


@dataclass(frozen=True)
class ServerKey:
    """certsvc makes the key and delivers it as PKCS#12 under this password."""

    password: bytes


KeySource = CsrKey | ServerKey


@dataclass(frozen=True)
class Handover:
    """How the subscriber gets a new certificate: from the caller (CLI, a pickup being
    redeemed), or waiting for pickup; ``mail_link`` writes the pickup link and its mail in
    the issuing transaction whenever the certificate waits for pickup (HTTP)."""

    awaiting_pickup: bool = False
    mail_link: bool = False


DIRECT = Handover()


@dataclass(frozen=True)
class Issued:
    """The outcome of an issuance; ``pkcs12`` only when certsvc made the key."""

    certificate: CertificateView
    certificate_pem: str
    pkcs12: bytes | None = None


@dataclass(frozen=True)
class Unsettled:
    """A pending request that ``reconcile`` could not settle this run; it stays pending."""

    request_id: int
    error: str


@dataclass(frozen=True)
class Reconciled:
    """What ``reconcile`` did: serials found issued at the CA, requests dropped, the
    requests left pending because asking the CA (or recording its answer) failed (an
    unfinished revocation that failed again has ``request_id`` 0), and revocations."""

    issued: list[str]
    dropped: int
    failed: list[Unsettled] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    """Revocations completed after a crash, or made by the CA and found on its CRLs."""


@dataclass(frozen=True)
class Predecessor:
    """The certificate a renewal or reissue replaces, and what becomes of it."""

    id: int
    serial: str
    action: str  # renew | reissue
    revoke_old: RevokeOld | None  # None: stays valid
    reason: RevocationReason
    foreign: bool = False
    """Imported from another CA: revoked by certsvc's records alone, never at a CA."""


@dataclass(frozen=True)
class Prepared:
    """The key side of a request, checked before anything is written."""

    public_key: PublicKey
    csr_pem: bytes | None
    server_key: delivery.ServerKey | None
    password: bytes | None


@dataclass(frozen=True)
class Order:
    """One issuance: for whom, by whom, replacing what."""

    subscriber: SubscriberRef
    by: Actor
    predecessor: Predecessor | None
    awaiting_pickup: bool
    revoke_failed: bool = False
    mail_link: bool = False
    """Write a pickup link (and its mail) with the certificate when it awaits pickup."""
    key_lost: bool = False
    """certsvc made the key and it died with a lost CA answer: the certificate is recorded
    revoked (``cessationOfOperation``) and nobody is mailed about its issue."""


Locate = Callable[[Session], Order]
"""Finds, inside the transaction, for whom a certificate is issued and what it replaces."""

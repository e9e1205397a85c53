"""The protocol every CA adapter implements, and the values that cross the boundary.

Adapters translate their vendor's failures into ``certsvc.errors`` in one place; nothing
above this boundary sees an HTTP status or a ``requests`` exception. A third party adds
an adapter by registering a factory ``create(context: AdapterContext) -> CAAdapter`` in
the ``certsvc.ca_adapters`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from cryptography import x509

from certsvc.clock import Clock, SystemTimer, Timer
from certsvc.config import Settings
from certsvc.domain.policy import PublicKey, RevocationReason
from certsvc.storage.db import SessionFactory


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter factory is given: settings, the clock, and certsvc's database.

    ``timer`` measures deadlines and does the waiting of retries and polling; tests give
    one that does not really sleep.
    """

    settings: Settings
    clock: Clock
    sessions: SessionFactory
    timer: Timer = field(default_factory=SystemTimer)


@dataclass(frozen=True)
class SubjectInfo:
    """The subject mapping: O = tenant name, CN = user ID, e-mail in the SAN."""

    organization: str
    common_name: str
    email: str
    country: str = ""


@dataclass(frozen=True)
class IssueRequest:
    """One certificate to issue; ``request_key`` identifies it across retries.

    ``key_proof`` signs bytes with the subject's private key when certsvc made that key
    (a CA may want a signature over the public key as proof of possession).
    """

    request_key: str
    subject: SubjectInfo
    public_key: PublicKey
    csr_pem: bytes | None
    not_before: datetime
    not_after: datetime
    requested_at: datetime
    key_proof: Callable[[bytes], bytes] | None = None


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as the CA returned it; ``ca_name`` is the CA of our chain that signed."""

    certificate: x509.Certificate
    ca_ref: str
    ca_name: str


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One entry of a CRL."""

    serial: int
    revoked_at: datetime
    reason: RevocationReason


@dataclass(frozen=True)
class CheckLine:
    """One line of ``certsvc ca check``: what was checked, whether it passed, and details."""

    name: str
    ok: bool
    detail: str


@runtime_checkable
class CRLSigner(Protocol):
    """A revocation source whose CRLs certsvc signs itself (the local CA)."""

    def ca_names(self) -> Sequence[str]:
        """Every CA in the trust chain, each of which needs a CRL (root included)."""

    def sign_crl(
        self,
        ca_name: str,
        entries: Iterable[RevokedEntry],
        number: int,
        this_update: datetime,
        next_update: datetime,
    ) -> bytes:
        """A full DER CRL for ``ca_name``; built in time linear in the entries."""


@dataclass(frozen=True)
class MirroredCRL:
    """A revocation source that the CA publishes and certsvc mirrors (external CAs).

    Each CRL is checked against ``CAAdapter.trust_chain()`` before it is kept.
    """

    urls: Sequence[str]


RevocationSource = CRLSigner | MirroredCRL


class CAAdapter(Protocol):
    """What certsvc needs from a CA."""

    name: str
    remote: bool
    """True when issuing has effects outside certsvc's database (a CA service): the
    lifecycle then brackets the call with a ``pending`` row that ``reconcile`` settles."""

    def ensure_ready(self) -> list[str]:
        """Create or check what the adapter needs (keys, login); return notes for the user.

        :raises ConfigError: the adapter's settings or files are unusable.
        :raises CAError: the CA cannot be used.
        """

    def issue(self, request: IssueRequest) -> IssuedCertificate:
        """Issue one certificate.

        :raises CARejected: the CA refused the request (policy, key).
        :raises QuotaExceeded: the account has no quota left.
        :raises CAUnavailable: no answer in time; the request may or may not have been issued.
        """

    def fetch(self, ca_ref: str) -> IssuedCertificate:
        """Fetch an issued certificate again.

        :raises NotFound: the CA knows no such certificate.
        :raises CAUnavailable: no answer in time.
        """

    def revoke(self, serial: int, reason: RevocationReason, when: datetime) -> None:
        """Revoke at the CA; revoking what is already revoked there is success.

        :raises NotFound: the CA knows no such certificate.
        :raises CAUnavailable: no answer in time.
        """

    def trust_chain(self) -> list[x509.Certificate]:
        """The chain above issued certificates: issuing CA first, root last.

        :raises CAUnavailable: no answer in time.
        """

    def revocation_source(self) -> RevocationSource:
        """Where revocation information comes from: CRLs we sign, or CRLs we mirror."""

    def check(self) -> list[CheckLine]:
        """Adapter-specific health checks (keys open, login, policy, quota); never raises.

        The chain and the revocation source are checked by certsvc for every adapter.
        """

    def find_issued(
        self, public_key_sha256: str, since: datetime, until: datetime
    ) -> IssuedCertificate | None:
        """The certificate issued for this public key in the window, if any (reconcile).

        :raises CAUnavailable: no answer in time.
        """

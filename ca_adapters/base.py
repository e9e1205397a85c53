"""The protocol every CA adapter implements, and the values that cross the boundary.

Adapters translate their vendor's failures into ``certsvc.errors`` in one place; nothing
above this boundary sees an HTTP status or a ``requests`` exception. A third party adds
an adapter by naming an ``AdapterPlugin`` (its options model and its factory) in the
``certsvc.ca_adapters`` entry-point group. An adapter is given a small ``AdapterContext``,
never certsvc's settings or database: what it must look up goes through ``CALedger``,
which certsvc implements (and the conformance suite implements in memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Generic, Protocol, TypeVar, runtime_checkable
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.x509 import ocsp
from pydantic import BaseModel

from certsvc.clock import Clock, SystemTimer, Timer
from certsvc.domain.policy import PublicKey, RevocationReason

OptionsT = TypeVar("OptionsT")
NewOptionsT = TypeVar("NewOptionsT")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class CAIdentity:
    """One CA certificate a database belongs to: its name in the chain and its key id.

    ``key_id`` is the hex SubjectKeyIdentifier, what an operator compares by eye.
    """

    ca_name: str
    certificate_pem: bytes
    key_id: str


class CALedger(Protocol):
    """What an adapter may ask of certsvc's records of the certificates it issued.

    certsvc keeps the truth about issued certificates; an adapter that has no store of
    its own (the local CA) or needs what it issued before (CRL distribution points)
    asks here instead of reading certsvc's database.
    """

    def certificate_pem(self, serial: str) -> bytes | None:
        """The PEM of the certificate with this serial (``format_serial``), if recorded."""

    def latest_certificate_pem(self, adapter: str) -> bytes | None:
        """The PEM of the certificate most recently recorded for ``adapter``, if any."""

    def recorded_cas(self, adapter: str) -> Sequence[CAIdentity]:
        """The CAs the database belongs to for ``adapter``, in recording order (may be empty)."""

    def record_cas(self, adapter: str, cas: Sequence[CAIdentity]) -> Sequence[CAIdentity]:
        """Record ``cas`` in one step unless one of their names is taken; return what is
        recorded afterwards (another node's CA when it recorded first)."""

    def last_expiry(self, adapter: str, ca_name: str) -> datetime | None:
        """The latest notAfter of the certificates ``ca_name`` issued (None: none recorded)."""


@dataclass(frozen=True)
class CertificateURLs:
    """What issued certificates point at, for an adapter that writes them itself.

    ``base_url`` is certsvc's public origin, which serves ``/crl/<ca>.crl`` (DER),
    ``/ca/<ca>.cer`` (DER) and ``/ocsp``; ``crl_url`` and ``ocsp_url`` are explicit
    overrides for the client certificates (``[certificates]``). ``refused`` is why none of
    them may go into a certificate now (loopback URLs while certsvc serves others): an
    adapter that writes URLs raises ``ConfigError(refused)`` instead of signing.
    """

    crl_url: str = ""
    ocsp_url: str = ""
    base_url: str = ""
    refused: str = ""

    def crl_of(self, ca_name: str) -> str:
        """The CRL of ``ca_name`` as certsvc publishes it ("" without a base)."""
        return f"{self.base_url.rstrip('/')}/crl/{ca_name}.crl" if self.base_url else ""

    def certificate_of(self, ca_name: str) -> str:
        """The DER certificate of ``ca_name`` (AIA caIssuers; "" without a base)."""
        return f"{self.base_url.rstrip('/')}/ca/{ca_name}.cer" if self.base_url else ""

    def ocsp(self) -> str:
        """The OCSP responder: the override, else certsvc's ``/ocsp`` ("" without either)."""
        if self.ocsp_url:
            return self.ocsp_url
        return f"{self.base_url.rstrip('/')}/ocsp" if self.base_url else ""


@dataclass(frozen=True)
class AdapterContext(Generic[OptionsT]):
    """What an adapter factory is given, and nothing more.

    ``options`` is the adapter's ``[ca.<name>]`` table validated by its own model (the
    registry validates it; before that it is the raw table). ``home`` is certsvc's data
    directory, against which relative paths in the options resolve; ``zone`` the
    business time zone. ``timer`` measures deadlines and does the waiting of retries and
    polling; tests give one that does not really sleep.
    """

    options: OptionsT
    clock: Clock
    ledger: CALedger
    home: Path
    zone: ZoneInfo
    urls: CertificateURLs = CertificateURLs()
    timer: Timer = field(default_factory=SystemTimer)

    def with_options(self, options: NewOptionsT) -> AdapterContext[NewOptionsT]:
        """The same context carrying ``options`` (the validated model for the raw table)."""
        return AdapterContext(
            options, self.clock, self.ledger, self.home, self.zone, self.urls, self.timer
        )


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
    """One line of ``certsvc ca check``: what was checked, whether it passed, and details.

    ``warning`` marks a passing line the operator should read (``WARN``, exit 0).
    """

    name: str
    ok: bool
    detail: str
    warning: bool = False


@dataclass(frozen=True)
class OCSPStatus:
    """What an OCSP response says of one certificate; certsvc finds it, the adapter signs.

    ``reason`` is ``None`` or ``unspecified`` for a response without a reason code.
    """

    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None = None
    reason: RevocationReason | None = None


@runtime_checkable
class CRLSigner(Protocol):
    """A revocation source whose CRLs and OCSP responses the adapter signs (the local CA).

    certsvc decides what goes into them (entries, numbers, times, statuses); the
    adapter only signs, so no CA key ever leaves it.
    """

    def ca_names(self) -> Sequence[str]:
        """Every CA in the trust chain, each of which needs a CRL (root included)."""

    def ca_certificate(self, ca_name: str) -> x509.Certificate:
        """The certificate of ``ca_name`` (to match an OCSP request's issuer hashes).

        :raises ConfigError: the CA is not set up.
        """

    def sign_ocsp(
        self,
        ca_name: str,
        request: ocsp.OCSPRequest,
        status: OCSPStatus,
        this_update: datetime,
        next_update: datetime,
    ) -> bytes:
        """A DER OCSP response from ``ca_name`` answering ``request`` (nonce echoed).

        :raises ConfigError: the CA's key cannot be used.
        """

    def sign_crl(
        self,
        ca_name: str,
        entries: Iterable[RevokedEntry],
        number: int,
        this_update: datetime,
        next_update: datetime,
    ) -> bytes:
        """A full DER CRL for ``ca_name``; built in time linear in the entries."""


@runtime_checkable
class ImportedCRLs(Protocol):
    """A CRL signer that holds some CA keys offline (an offline root): those CRLs are
    signed elsewhere, imported, and served as they are."""

    def imported_crls(self) -> Sequence[str]:
        """The CAs whose CRL certsvc serves as imported (``certsvc ca import-root``)."""


@dataclass(frozen=True)
class MirroredCRL:
    """A revocation source that the CA publishes and certsvc mirrors (external CAs).

    Each CRL is checked against ``CAAdapter.trust_chain()`` before it is kept.
    """

    urls: Sequence[str]


RevocationSource = CRLSigner | MirroredCRL


@runtime_checkable
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
        self,
        public_key_sha256: str,
        since: datetime,
        until: datetime,
        known: frozenset[str] = frozenset(),
    ) -> IssuedCertificate | None:
        """A certificate issued for this public key whose notBefore lies in [since, until]
        (the CA may have issued it later), leaving out the ``ca_ref``s in ``known`` (those
        certsvc recorded already, for this key or another); None when there is none.

        :raises CAUnavailable: no answer in time, or a candidate could not be read.
        """


@runtime_checkable
class IssuingRollover(Protocol):
    """An adapter that can make a new issuing CA under the same root (``ca rollover``)."""

    def rollover(self) -> list[str]:
        """Make and record a new issuing CA; new certificates come from it. Notes for the user.

        :raises ConfigError: the root key cannot be used on this node.
        """


@dataclass(frozen=True)
class AdapterPlugin(Generic[ModelT]):
    """What a ``certsvc.ca_adapters`` entry point names: an options model and a factory.

    The registry validates the adapter's ``[ca.<name>]`` table with ``options`` (so a bad
    key names the adapter and the key) and calls ``create`` with a context carrying it.
    """

    options: type[ModelT]
    create: Callable[[AdapterContext[ModelT]], CAAdapter]

"""An OCSP responder (RFC 6960, RFC 5019 profile) for the CAs certsvc signs itself.

Each CA answers for the certificates it issued: the issuing CA for client certificates,
the root for the issuing CA. ``good`` for a certificate certsvc issued and did not
revoke, ``revoked`` with time and reason, ``unknown`` for a serial it never issued.
certsvc parses the request and finds the status; the adapter signs the answer through
the signer protocol (``CRLSigner.sign_ocsp``), so the CA key never leaves it.
thisUpdate/nextUpdate come from the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from sqlalchemy import select

from ca_adapters.base import CRLSigner, OCSPStatus
from certsvc.clock import Clock
from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.feed.root_crl import imported_names
from certsvc.storage.db import SessionFactory
from certsvc.storage.models import Certificate


@dataclass(frozen=True)
class OCSPAnswer:
    """A DER OCSP response and what its HTTP caching headers are made of."""

    der: bytes
    this_update: datetime | None = None
    next_update: datetime | None = None
    has_nonce: bool = False


def _failure(status: ocsp.OCSPResponseStatus) -> OCSPAnswer:
    return OCSPAnswer(ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(_DER))


_DER = serialization.Encoding.DER


def _key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents, which issuerKeyHash is a hash of."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(_DER, serialization.PublicFormat.PKCS1)
    raise TypeError("unsupported CA key type")


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


class OCSPResponder:
    """Answers one OCSP request at a time; stateless apart from the database."""

    def __init__(
        self, sessions: SessionFactory, signer: object, clock: Clock, validity: timedelta
    ) -> None:
        self.sessions = sessions
        self.signer = signer if isinstance(signer, CRLSigner) else None
        self.clock = clock
        self.validity = validity

    def respond(self, der: bytes) -> OCSPAnswer:
        try:
            request = ocsp.load_der_ocsp_request(der)
            algorithm = request.hash_algorithm
        except (ValueError, NotImplementedError, TypeError):
            return _failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if self.signer is None:
            return _failure(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        ca_name = self._issuer(self.signer, request, algorithm)
        if ca_name is None or ca_name in imported_names(self.signer):  # an offline root's key
            return _failure(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        status = self._status(self.signer, ca_name, request.serial_number)
        this_update = self.clock.now().replace(microsecond=0)
        next_update = this_update + self.validity
        der = self.signer.sign_ocsp(ca_name, request, status, this_update, next_update)
        return OCSPAnswer(der, this_update, next_update, _has_nonce(request))

    @staticmethod
    def _issuer(
        signer: CRLSigner, request: ocsp.OCSPRequest, algorithm: hashes.HashAlgorithm
    ) -> str | None:
        for ca_name in signer.ca_names():
            certificate = signer.ca_certificate(ca_name)
            if (
                _digest(algorithm, certificate.subject.public_bytes()) == (request.issuer_name_hash)
                and _digest(algorithm, _key_bits(certificate)) == request.issuer_key_hash
            ):
                return ca_name
        return None

    def _status(self, signer: CRLSigner, ca_name: str, serial: int) -> OCSPStatus:
        """The root answers for the CAs below it; a CA below the root for client certificates."""
        authorities = [signer.ca_certificate(name) for name in signer.ca_names()]
        own = signer.ca_certificate(ca_name)
        if own.issuer != own.subject:
            return self._client_status(serial)
        if any(
            c.serial_number == serial and c.issuer == own.subject != c.subject for c in authorities
        ):
            return OCSPStatus(ocsp.OCSPCertStatus.GOOD)
        return OCSPStatus(ocsp.OCSPCertStatus.UNKNOWN)

    def _client_status(self, serial: int) -> OCSPStatus:
        with self.sessions() as session:
            row = session.execute(
                select(
                    Certificate.state,
                    Certificate.revoked_at,
                    Certificate.revocation_reason,
                    Certificate.revoke_due_at,
                    Certificate.revoke_due_reason,
                ).where(Certificate.serial == format_serial(serial))
            ).first()
        if row is None or row.state not in (CertState.ISSUED, CertState.EXPIRED, CertState.REVOKED):
            return OCSPStatus(ocsp.OCSPCertStatus.UNKNOWN)
        due = row.revoke_due_at
        if row.state is CertState.ISSUED and due is not None and due <= self.clock.now():
            # an on-pickup revocation is due: revoked from its instant, whether a job ran
            reason = RevocationReason(row.revoke_due_reason or "superseded")
            return OCSPStatus(ocsp.OCSPCertStatus.REVOKED, due, reason)
        if row.state is not CertState.REVOKED:
            return OCSPStatus(ocsp.OCSPCertStatus.GOOD)
        reason = RevocationReason(row.revocation_reason or "unspecified")
        return OCSPStatus(ocsp.OCSPCertStatus.REVOKED, row.revoked_at, reason)


def _has_nonce(request: ocsp.OCSPRequest) -> bool:
    """Whether the answer carries a nonce (then it must not be cached)."""
    try:
        request.extensions.get_extension_for_class(x509.OCSPNonce)
    except x509.ExtensionNotFound:
        return False
    return True

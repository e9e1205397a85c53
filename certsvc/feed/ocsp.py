"""An OCSP responder (RFC 6960, RFC 5019 profile) for the CAs certsvc signs itself.

Each CA answers for the certificates it issued, signing with its own key (no delegated
responder certificate to manage): the issuing CA for client certificates, the root for
the issuing CA. ``good`` for a certificate certsvc issued and did not revoke, ``revoked``
with time and reason, ``unknown`` for a serial it never issued. ``producedAt`` is set by
``cryptography`` from the wall clock; thisUpdate/nextUpdate come from the injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from sqlalchemy import select

from ca_adapters.local.adapter import Authority
from certsvc.clock import Clock
from certsvc.domain.certificates import CertState
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import RevocationReason
from certsvc.storage.db import SessionFactory
from certsvc.storage.models import Certificate


@runtime_checkable
class OCSPSigner(Protocol):
    """A CA adapter whose CA keys certsvc holds (the local CA)."""

    def ca_names(self) -> Sequence[str]: ...

    def authority(self, ca_name: str) -> Authority: ...


@dataclass(frozen=True)
class OCSPAnswer:
    """A DER OCSP response and what its HTTP caching headers are made of."""

    der: bytes
    this_update: datetime | None = None
    next_update: datetime | None = None
    has_nonce: bool = False


@dataclass(frozen=True)
class _Status:
    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


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
        self.signer = signer if isinstance(signer, OCSPSigner) else None
        self.clock = clock
        self.validity = validity

    def respond(self, der: bytes) -> OCSPAnswer:
        try:
            request = ocsp.load_der_ocsp_request(der)
            algorithm = request.hash_algorithm
        except (ValueError, NotImplementedError, TypeError):
            return _failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        found = self._issuer(request, algorithm)
        if found is None:
            return _failure(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        ca_name, authority = found
        status = self._status(ca_name, request.serial_number)
        this_update = self.clock.now().replace(microsecond=0)
        next_update = this_update + self.validity
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            request.issuer_name_hash,
            request.issuer_key_hash,
            request.serial_number,
            algorithm,
            status.status,
            this_update,
            next_update,
            status.revoked_at,
            status.reason,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, authority.certificate)
        nonce = _nonce(request)
        if nonce is not None:
            builder = builder.add_extension(nonce, critical=False)
        response = builder.sign(authority.key, authority.hash_algorithm)
        return OCSPAnswer(response.public_bytes(_DER), this_update, next_update, nonce is not None)

    def _issuer(
        self, request: ocsp.OCSPRequest, algorithm: hashes.HashAlgorithm
    ) -> tuple[str, Authority] | None:
        if self.signer is None:
            return None
        for ca_name in self.signer.ca_names():
            authority = self.signer.authority(ca_name)
            certificate = authority.certificate
            if (
                _digest(algorithm, certificate.subject.public_bytes()) == (request.issuer_name_hash)
                and _digest(algorithm, _key_bits(certificate)) == request.issuer_key_hash
            ):
                return ca_name, authority
        return None

    def _status(self, ca_name: str, serial: int) -> _Status:
        """The root answers for the CAs below it; a CA below the root for client certificates."""
        assert self.signer is not None
        authorities = [self.signer.authority(name).certificate for name in self.signer.ca_names()]
        own = self.signer.authority(ca_name).certificate
        if own.issuer != own.subject:
            return self._client_status(serial)
        if any(
            c.serial_number == serial and c.issuer == own.subject != c.subject for c in authorities
        ):
            return _Status(ocsp.OCSPCertStatus.GOOD)
        return _Status(ocsp.OCSPCertStatus.UNKNOWN)

    def _client_status(self, serial: int) -> _Status:
        with self.sessions() as session:
            row = session.execute(
                select(
                    Certificate.state, Certificate.revoked_at, Certificate.revocation_reason
                ).where(Certificate.serial == format_serial(serial))
            ).first()
        if row is None or row.state not in (CertState.ISSUED, CertState.EXPIRED, CertState.REVOKED):
            return _Status(ocsp.OCSPCertStatus.UNKNOWN)
        if row.state is not CertState.REVOKED:
            return _Status(ocsp.OCSPCertStatus.GOOD)
        reason = RevocationReason(row.revocation_reason or "unspecified")
        flag = None if reason is RevocationReason.unspecified else reason.flag
        return _Status(ocsp.OCSPCertStatus.REVOKED, row.revoked_at, flag)


def _nonce(request: ocsp.OCSPRequest) -> x509.OCSPNonce | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value
    except x509.ExtensionNotFound:
        return None

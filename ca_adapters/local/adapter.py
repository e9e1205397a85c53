"""The local CA: a two-tier CA (root -> issuing CA, pathlen 0) built on ``cryptography``.

Two tiers because a gateway checks a CRL for every CA in the chain: the root's CRL stays
empty and tiny, and client certificates are revoked on the issuing CA's CRL. The local
CA's ledger is certsvc's own database, so ``fetch`` and ``revoke`` ask certsvc's
``CALedger`` rather than keeping a second copy of the truth. The keys never leave this
adapter: certsvc hands it what a CRL or an OCSP response must say and gets DER back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ca_adapters.base import (
    AdapterContext,
    CheckLine,
    IssuedCertificate,
    IssueRequest,
    OCSPStatus,
    RevocationSource,
    RevokedEntry,
)
from ca_adapters.local import urls as url_extensions
from ca_adapters.local.keys import Passphrase, SigningKey, generate_key, load_key, save_key
from ca_adapters.local.ocsp import sign_ocsp_response
from ca_adapters.local.options import LocalOptions
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import PublicKey, RevocationReason
from certsvc.errors import CertsvcError, ConfigError, NotFound

ROOT, ISSUING = "root", "issuing"
CA_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Authority:
    """One CA of the chain: its certificate and its (decrypted) key."""

    certificate: x509.Certificate
    key: SigningKey

    @property
    def hash_algorithm(self) -> hashes.SHA256 | hashes.SHA384:
        return hash_for(self.key)

    def key_identifier(self) -> x509.AuthorityKeyIdentifier:
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def hash_for(key: SigningKey) -> hashes.SHA256 | hashes.SHA384:
    """SHA-384 for P-384 keys, SHA-256 otherwise (matching strength, widely supported)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def signing_usage(certificates_and_crls: bool) -> x509.KeyUsage:
    """digitalSignature for every key; keyCertSign and cRLSign for a CA's."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificates_and_crls,
        crl_sign=certificates_and_crls,
        encipher_only=False,
        decipher_only=False,
    )


def new_serial() -> int:
    """A random 128-bit serial, never zero."""
    return secrets.randbits(128) or 1


def create(context: AdapterContext[LocalOptions]) -> LocalCA:
    """The factory of ``[ca] adapter = "local"`` (see ``ca_adapters.local.plugin``)."""
    return LocalCA(context)


class LocalCA:
    """Signs client certificates and CRLs with keys kept on this machine."""

    name = "local"
    remote = False  # a signature not committed with its row never left the process

    def __init__(self, context: AdapterContext[LocalOptions]) -> None:
        self._settings = context.options
        self._certificates = context.urls
        self._clock = context.clock
        self._ledger = context.ledger
        self.directory = context.home / (self._settings.dir or "ca")
        self._passphrase = Passphrase(self._settings, self.directory, context.home)
        self._authorities: dict[str, Authority] = {}
        self._reason_extensions: dict[
            RevocationReason, list[x509.Extension[x509.ExtensionType]]
        ] = {
            reason: [x509.Extension(x509.CRLReason.oid, False, x509.CRLReason(reason.flag))]
            for reason in RevocationReason
            if reason is not RevocationReason.unspecified
        }

    # -- set-up -------------------------------------------------------------------------

    def ensure_ready(self) -> list[str]:
        """Create the two-tier CA when none exists; otherwise check it opens."""
        urls = url_extensions.describe(self._certificates, ISSUING)
        if self._path(ROOT, "pem").exists():
            self._authority(ISSUING)
            return urls
        url_extensions.refuse_if_unusable(self._certificates)
        notes: list[str] = []
        generated = self._passphrase.create_default()
        if generated is not None:
            notes.append(f"generated a CA key passphrase into {generated} (mode 0600)")
        passphrase = self._passphrase.read()
        root = self._make_root()
        issuing = self._make_issuing(root)
        for name, authority in ((ROOT, root), (ISSUING, issuing)):
            save_key(self._path(name, "key"), authority.key, passphrase)
            pem = authority.certificate.public_bytes(serialization.Encoding.PEM)
            self._path(name, "pem").write_bytes(pem)
            self._authorities[name] = authority
        notes.append(f"created a two-tier CA (root and issuing CA) in {self.directory}")
        return [*notes, *urls]

    def _path(self, name: str, suffix: str) -> Path:
        return self.directory / f"{name}.{suffix}"

    def _name(self, common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self._settings.name),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    def _make_root(self) -> Authority:
        key = generate_key(self._settings.key_algorithm)
        name = self._name(f"{self._settings.name} Root CA")
        builder = self._ca_builder(name, name, key.public_key(), self._settings.root_validity_years)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        return Authority(builder.sign(key, hash_for(key)), key)

    def _make_issuing(self, root: Authority) -> Authority:
        key = generate_key(self._settings.key_algorithm)
        name = self._name(f"{self._settings.name} Issuing CA 1")
        builder = self._ca_builder(
            name, root.certificate.subject, key.public_key(), self._settings.issuing_validity_years
        )
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(root.key_identifier(), False)
        for value, critical in url_extensions.ca_extensions(self._certificates, ROOT):
            builder = builder.add_extension(value, critical)
        return Authority(builder.sign(root.key, root.hash_algorithm), key)

    def _ca_builder(
        self, subject: x509.Name, issuer: x509.Name, public_key: PublicKey, years: int
    ) -> x509.CertificateBuilder:
        now = self._clock.now().replace(microsecond=0)
        usage = signing_usage(certificates_and_crls=True)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(new_serial())
            .not_valid_before(now - CA_BACKDATE)
            .not_valid_after(now.replace(year=now.year + years))
            .add_extension(usage, True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        )

    def _authority(self, name: str) -> Authority:
        """The CA ``name``, its key decrypted once per process."""
        if name not in self._authorities:
            pem = self._path(name, "pem")
            if not pem.exists():
                raise ConfigError(
                    f"local CA not initialised in {self.directory}: run 'certsvc init'"
                )
            certificate = x509.load_pem_x509_certificate(pem.read_bytes())
            key = load_key(self._path(name, "key"), self._passphrase.read())
            self._authorities[name] = Authority(certificate, key)
        return self._authorities[name]

    def check(self) -> list[CheckLine]:
        """Both CA keys open with the configured passphrase and match their certificates."""
        der = serialization.Encoding.DER
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        try:
            for name in (ROOT, ISSUING):
                authority = self._authority(name)
                if authority.key.public_key().public_bytes(der, spki) != (
                    authority.certificate.public_key().public_bytes(der, spki)
                ):
                    return [
                        CheckLine("keys", False, f"{name} CA key does not match its certificate")
                    ]
        except CertsvcError as exc:
            return [CheckLine("keys", False, str(exc))]
        lines = [CheckLine("keys", True, f"root and issuing CA keys open ({self.directory})")]
        if not url_extensions.has_distribution_point(self._authority(ISSUING).certificate):
            detail = (
                "the issuing CA certificate has no CRL distribution point (made before it was "
                "added): strict validators refuse its chain; see README, 'URLs in certificates'"
            )
            lines.append(CheckLine("ca-urls", True, detail, warning=True))
        return lines

    # -- issuance -----------------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssuedCertificate:
        """Sign a client certificate: clientAuth, CA:FALSE, digitalSignature, e-mail in SAN."""
        url_extensions.refuse_if_unusable(self._certificates)
        issuing = self._authority(ISSUING)
        subject = _subject_name(request)
        builder = x509.CertificateBuilder(
            issuer_name=issuing.certificate.subject,
            subject_name=subject,
            public_key=request.public_key,
            serial_number=new_serial(),
            not_valid_before=request.not_before,
            not_valid_after=request.not_after,
            extensions=[*self._client_extensions(issuing), *_subject_extensions(request)],
        )
        certificate = builder.sign(issuing.key, issuing.hash_algorithm)
        return IssuedCertificate(certificate, format_serial(certificate.serial_number), ISSUING)

    def _client_extensions(self, issuing: Authority) -> list[x509.Extension[x509.ExtensionType]]:
        usage = signing_usage(certificates_and_crls=False)
        values: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (usage, True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
            (issuing.key_identifier(), False),
            *url_extensions.leaf_extensions(self._certificates, ISSUING),
        ]
        return [x509.Extension(value.oid, critical, value) for value, critical in values]

    def fetch(self, ca_ref: str) -> IssuedCertificate:
        """The certificate as certsvc recorded it (a local ``ca_ref`` is the serial)."""
        pem = self._ledger.certificate_pem(ca_ref)
        if pem is None:
            raise NotFound("certificate", ca_ref)
        return IssuedCertificate(x509.load_pem_x509_certificate(pem), ca_ref, ISSUING)

    def revoke(self, serial: int, reason: RevocationReason, when: datetime) -> None:
        """Nothing to tell: the local CA signs its CRLs from what certsvc recorded."""
        if self._ledger.certificate_pem(format_serial(serial)) is None:
            raise NotFound("certificate", format_serial(serial))

    def find_issued(
        self, public_key_sha256: str, since: datetime, until: datetime
    ) -> IssuedCertificate | None:
        """Always ``None``: a local signature that was not committed never left the process."""
        return None

    def trust_chain(self) -> list[x509.Certificate]:
        return [self._authority(ISSUING).certificate, self._authority(ROOT).certificate]

    # -- revocation ---------------------------------------------------------------------

    def revocation_source(self) -> RevocationSource:
        return self

    def ca_names(self) -> Sequence[str]:
        return (ROOT, ISSUING)

    def sign_crl(
        self,
        ca_name: str,
        entries: Iterable[RevokedEntry],
        number: int,
        this_update: datetime,
        next_update: datetime,
    ) -> bytes:
        """A full CRL; the entry list goes to the builder's constructor (linear time)."""
        authority = self._authority(ca_name)
        revoked = [
            x509.RevokedCertificateBuilder(
                entry.serial, entry.revoked_at, self._reason_extensions.get(entry.reason, [])
            ).build()
            for entry in entries
        ]
        builder = x509.CertificateRevocationListBuilder(
            issuer_name=authority.certificate.subject,
            last_update=this_update,
            next_update=next_update,
            extensions=[
                x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(number)),
                x509.Extension(x509.AuthorityKeyIdentifier.oid, False, authority.key_identifier()),
            ],
            revoked_certificates=revoked,
        )
        crl = builder.sign(authority.key, authority.hash_algorithm)
        return crl.public_bytes(serialization.Encoding.DER)

    def ca_certificate(self, ca_name: str) -> x509.Certificate:
        return self._authority(ca_name).certificate

    def sign_ocsp(
        self,
        ca_name: str,
        request: ocsp.OCSPRequest,
        status: OCSPStatus,
        this_update: datetime,
        next_update: datetime,
    ) -> bytes:
        """Each CA answers for what it issued with its own key (no delegated responder)."""
        authority = self._authority(ca_name)
        return sign_ocsp_response(
            authority.certificate,
            authority.key,
            authority.hash_algorithm,
            request,
            status,
            (this_update, next_update),
        )


def _subject_name(request: IssueRequest) -> x509.Name:
    attributes = []
    if request.subject.country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, request.subject.country))
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, request.subject.organization),
        x509.NameAttribute(NameOID.COMMON_NAME, request.subject.common_name),
    ]
    return x509.Name(attributes)


def _subject_extensions(request: IssueRequest) -> list[x509.Extension[x509.ExtensionType]]:
    san = x509.SubjectAlternativeName([x509.RFC822Name(request.subject.email)])
    ski = x509.SubjectKeyIdentifier.from_public_key(request.public_key)
    return [x509.Extension(san.oid, False, san), x509.Extension(ski.oid, False, ski)]

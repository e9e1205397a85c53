"""The offline root: its key on a box that never serves, the online node without it.

The online node makes its issuing CA key (file or token) and exports a CSR
(``certsvc ca issuing-csr``). On the offline box, ``certsvc ca root-ceremony`` makes the
root (or opens the one it made before), signs the issuing CA certificate for that CSR
and a long-lived root CRL. The online node imports both (``certsvc ca import-root``):
it records the chain and serves the imported root CRL as is; it never holds the root key,
so anything that would need it (a rollover, a root CRL of its own) is refused with the
way to do it in the next ceremony.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ca_adapters.base import CAIdentity, CertificateURLs
from ca_adapters.local import identity
from ca_adapters.local import urls as url_extensions
from ca_adapters.local.adapter import CA_BACKDATE, Authority, LocalCA, issuing_name
from ca_adapters.local.identity import ROOT, RecordedChain
from ca_adapters.local.keys import KeyStore
from ca_adapters.local.offline import STEPS, OfflineRootKey, not_imported
from ca_adapters.local.options import LocalOptions
from ca_adapters.local.profile import hash_for, new_serial, signing_usage
from certsvc.clock import Clock
from certsvc.domain.policy import PublicKey
from certsvc.errors import ConfigError

CRL_NUMBER_FILE = "root-crl-number"


def ca_builder(
    subject: x509.Name, issuer: x509.Name, public_key: PublicKey, now: datetime, not_after: datetime
) -> x509.CertificateBuilder:
    """A CA certificate's common part (as the adapter's own), signed by the caller."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(new_serial())
        .not_valid_before(now - CA_BACKDATE)
        .not_valid_after(not_after)
        .add_extension(signing_usage(certificates_and_crls=True), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
    )


def ca_name(settings: LocalOptions, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.name),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def load_certificate(data: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"the {what} is not a PEM certificate") from exc


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in PEM or DER."""
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise ConfigError("the root CRL is neither a PEM nor a DER CRL") from exc


class RootCeremony:
    """The offline box: its root (made once, then reopened), issuing CA certificates for
    the CSRs online nodes export, and root CRLs numbered on from the last one."""

    def __init__(
        self,
        settings: LocalOptions,
        keys: KeyStore,
        directory: Path,
        clock: Clock,
        urls: CertificateURLs,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self.directory = directory
        self._clock = clock
        self._urls = urls  # the online service's public address: the issuing CA's CRL DP

    def root(self) -> tuple[Authority, list[str]]:
        """The root this box made before, or a new one (its key in this box's key store)."""
        path = self.directory / f"{ROOT}.pem"
        if path.exists():
            certificate = load_certificate(path.read_bytes(), f"root certificate {path}")
            key = self._keys.open(ROOT, certificate)
            if key is None or not identity.same_key(key, certificate):
                raise ConfigError(f"the root key in {self._keys.where} is missing or not {path}'s")
            return Authority(certificate, key), [
                f"opened the root CA (key id {identity.key_id(certificate)})"
            ]
        notes = self._keys.prepare()
        key = self._keys.generate(ROOT, self._settings.key_algorithm)
        name = ca_name(self._settings, f"{self._settings.name} Root CA")
        now = self._now()
        until = now.replace(year=now.year + self._settings.root_validity_years)
        builder = ca_builder(name, name, key.public_key(), now, until)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        certificate = builder.sign(key, hash_for(key))
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return Authority(certificate, key), [
            *notes,
            f"created the root CA (key id {identity.key_id(certificate)}) in {self.directory}:"
            " back up its key and passphrase; it never goes to a serving node",
        ]

    def sign_issuing(self, root: Authority, csr_pem: bytes) -> x509.Certificate:
        """An issuing CA (pathlen 0) for the CSR, never outliving the root."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise ConfigError("the issuing CA request is not a PEM CSR") from exc
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise ConfigError("the issuing CA request's key is neither ECDSA nor RSA")
        if not csr.is_signature_valid:
            raise ConfigError("the issuing CA request's signature does not verify")
        now = self._now()
        until = min(
            now.replace(year=now.year + self._settings.issuing_validity_years),
            root.certificate.not_valid_after_utc,
        )
        builder = ca_builder(csr.subject, root.certificate.subject, public_key, now, until)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(root.key_identifier(), False)
        for value, critical in url_extensions.ca_extensions(self._urls, ROOT):
            builder = builder.add_extension(value, critical)
        return builder.sign(root.key, root.hash_algorithm)

    def root_crl(self, root: Authority, days: int) -> x509.CertificateRevocationList:
        """An empty root CRL valid ``days``, numbered one above this box's last one."""
        counter = self.directory / CRL_NUMBER_FILE
        number = int(counter.read_text()) + 1 if counter.exists() else 1
        this_update = self._now() - CA_BACKDATE
        builder = x509.CertificateRevocationListBuilder(
            issuer_name=root.certificate.subject,
            last_update=this_update,
            next_update=this_update + timedelta(days=days),
            extensions=[
                x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(number)),
                x509.Extension(x509.AuthorityKeyIdentifier.oid, False, root.key_identifier()),
            ],
        )
        crl = builder.sign(root.key, root.hash_algorithm)
        counter.write_text(f"{number}\n")
        return crl

    def _now(self) -> datetime:
        return self._clock.now().replace(microsecond=0)


class OfflineRootNode:
    """The online node's half: the issuing CA request and the import of what was signed.

    The request waits as ``<ca dir>/<issuing name>.csr`` beside its key until the import,
    so asking again prints the same request rather than making a second key.
    """

    def __init__(
        self, settings: LocalOptions, keys: KeyStore, chain: RecordedChain, directory: Path
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._chain = chain
        self.directory = directory

    @classmethod
    def of(cls, adapter: LocalCA) -> OfflineRootNode:
        settings, keys, chain = adapter.custody()
        if not settings.offline_root:
            raise ConfigError("this node's root key is online: set ca.local.offline_root = true")
        return cls(settings, keys, chain, adapter.directory)

    def pending_name(self) -> str:
        return issuing_name(len(self._chain.issuing()) + 1)

    def _request_path(self) -> Path:
        return self.directory / f"{self.pending_name()}.csr"

    def issuing_csr(self) -> tuple[bytes, list[str]]:
        """The CSR of the next issuing CA; its key made now in this node's key store."""
        path, name = self._request_path(), self.pending_name()
        if path.exists():
            return path.read_bytes(), [f"the {name} CA request made before (its key waits here)"]
        notes = [] if self._chain.recorded() else self._keys.prepare()
        key = self._keys.generate(name, self._settings.key_algorithm)
        number = len(self._chain.issuing()) + 1
        subject = ca_name(self._settings, f"{self._settings.name} Issuing CA {number}")
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hash_for(key))
        pem = csr.public_bytes(serialization.Encoding.PEM)
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pem)
        return pem, [*notes, f"made the {name} CA key in {self._keys.where}; request in {path}"]

    def import_chain(self, root_pem: bytes, issuing_pem: bytes) -> list[str]:
        """Record the root and the issuing CA signed for this node's waiting request."""
        root = load_certificate(root_pem, "root certificate")
        issuing = load_certificate(issuing_pem, "issuing CA certificate")
        _check_signed(root, root, "root certificate is not self-signed")
        _check_signed(issuing, root, "issuing CA certificate is not signed by this root")
        OfflineRootKey.of(root)
        done = [each for each in self._chain.recorded() if each.key_id == identity.key_id(issuing)]
        if done:  # imported before (a rerun after a crash before the root CRL was kept)
            return [f"the {done[0].ca_name} CA was imported before"]
        recorded_root = self._chain.find(ROOT)
        if recorded_root is not None and recorded_root.key_id != identity.key_id(root):
            raise identity.mismatch(self._chain.recorded(), ROOT, "the imported root certificate")
        name, path = self.pending_name(), self._request_path()
        if not path.exists():
            raise ConfigError(f"no issuing CA request waits in {self.directory}: run {STEPS}")
        csr = x509.load_pem_x509_csr(path.read_bytes())
        key = self._keys.open(name, issuing)
        if key is None or not identity.same_key(key, issuing) or not _same(csr, issuing):
            raise ConfigError(f"the issuing CA certificate is not for the request in {path}")
        cas: list[CAIdentity] = [] if recorded_root else [identity.identity_of(ROOT, root)]
        self._chain.record([*cas, identity.identity_of(name, issuing)], self._keys.where)
        for each, certificate in ((ROOT, root), (name, issuing)):
            (self.directory / f"{each}.pem").write_bytes(
                certificate.public_bytes(serialization.Encoding.PEM)
            )
        path.unlink()
        return [
            f"imported the {name} CA (key id {identity.key_id(issuing)}) under the offline root"
            f" (key id {identity.key_id(root)}); new certificates come from it"
        ]

    def verify_root_crl(
        self, data: bytes, root_pem: bytes | None = None
    ) -> x509.CertificateRevocationList:
        """The root CRL, signed by ``root_pem`` (being imported) or the recorded root."""
        crl = load_crl(data)
        found = self._chain.find(ROOT)
        if root_pem is not None:
            root = load_certificate(root_pem, "root certificate")
        elif found is not None:
            root = identity.certificate_of(found)
        else:
            raise not_imported(self.directory)
        public = root.public_key()
        if crl.issuer != root.subject or not crl.is_signature_valid(public):  # type: ignore[arg-type]
            raise ConfigError("the root CRL is not signed by the root this database records")
        if crl.next_update_utc is None:
            raise ConfigError("the root CRL has no nextUpdate")
        return crl


def _check_signed(certificate: x509.Certificate, issuer: x509.Certificate, problem: str) -> None:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise ConfigError(f"the {problem}") from exc


def _same(csr: x509.CertificateSigningRequest, certificate: x509.Certificate) -> bool:
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return csr.public_key().public_bytes(der, spki) == certificate.public_key().public_bytes(
        der, spki
    )

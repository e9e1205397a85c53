"""The local CA: a two-tier CA (root -> issuing CA, pathlen 0) built on ``cryptography``.

Two tiers because a gateway checks a CRL for every CA in the chain: the root's CRL stays
empty and tiny, and client certificates are revoked on the issuing CA's CRL. The local
CA's ledger is certsvc's own database, so ``fetch`` and ``revoke`` ask certsvc's
``CALedger`` rather than keeping a second copy of the truth. The keys never leave this
adapter: certsvc hands it what a CRL or an OCSP response must say and gets DER back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
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
from ca_adapters.local import identity, offline
from ca_adapters.local import urls as url_extensions
from ca_adapters.local.identity import ISSUING, ROOT
from ca_adapters.local.keys import FileKeyStore, KeyStore, SigningKey
from ca_adapters.local.ocsp import sign_ocsp_response
from ca_adapters.local.options import LocalOptions
from ca_adapters.local.profile import (
    hash_for,
    new_serial,
    signing_usage,
    subject_extensions,
    subject_name,
)
from certsvc.domain.fingerprints import format_serial
from certsvc.domain.policy import PublicKey, RevocationReason
from certsvc.errors import CertsvcError, ConfigError, NotFound

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


def create(context: AdapterContext[LocalOptions]) -> LocalCA:
    """The factory of ``[ca] adapter = "local"`` (see ``ca_adapters.local.plugin``)."""
    return LocalCA(context)


def key_store(settings: LocalOptions, directory: Path, home: Path) -> KeyStore:
    """The configured key store; PKCS#11 support is the optional ``certsvc[pkcs11]``."""
    if settings.key_store == "file":
        return FileKeyStore(settings, directory, home)
    try:
        from ca_adapters.local.pkcs11 import Pkcs11KeyStore  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ConfigError(
            "key_store = 'pkcs11' needs python-pkcs11: pip install 'certsvc[pkcs11]'"
        ) from exc
    return Pkcs11KeyStore(settings, home)


def issuing_name(number: int) -> str:
    """``issuing`` for the first issuing CA, ``issuing-2`` ... after each rollover."""
    return ISSUING if number == 1 else f"{ISSUING}-{number}"


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
        self._keys = key_store(self._settings, self.directory, context.home)
        self._authorities: dict[str, Authority] = {}
        self._chain = identity.RecordedChain(context.ledger, context.clock)
        self._reason_extensions: dict[
            RevocationReason, list[x509.Extension[x509.ExtensionType]]
        ] = {
            reason: [x509.Extension(x509.CRLReason.oid, False, x509.CRLReason(reason.flag))]
            for reason in RevocationReason
            if reason is not RevocationReason.unspecified
        }

    # -- set-up -------------------------------------------------------------------------

    def ensure_ready(self) -> list[str]:
        """Make the two-tier CA and record it, unless the database names one already.

        A database that names a CA is never given a second one: this node must then open
        that CA's keys (copied files or the shared token) or it stops with one line. Every
        outcome ends with the URLs that go into client certificates.
        """
        if self._chain.recorded():
            for name in self.ca_names():
                authority = self._authority(name)
                if not self._path(name, "pem").exists():  # a kill came before it was written
                    self._write_certificate(name, authority)
            return self._describe_urls()
        if self._settings.offline_root:
            return [str(offline.not_imported(self.directory))]
        if self._path(ROOT, "pem").exists():
            authorities = {name: self._from_files(name) for name in (ROOT, ISSUING)}
            note = f"recorded the CA in {self.directory} as the database's CA"
            return [*self._record(authorities), note, *self._describe_urls()]
        url_extensions.refuse_if_unusable(self._certificates)
        made: dict[str, Authority] = {}
        try:
            notes = self._keys.prepare()
            made[ROOT] = self._make_root()
            made[ISSUING] = self._make_issuing(made[ROOT])
            notes += self._record(made)
        except Exception:
            if self._chain.is_ours(ROOT, _certificate(made.get(ROOT))):
                raise  # recorded: its keys are the database's CA now, never removed
            self._keys.undo()  # another node recorded its CA first (or this failed)
            if self._chain.recorded():
                raise identity.missing_key(self._chain.recorded(), ROOT, self._keys.where) from None
            raise
        where = "" if self._settings.key_store == "file" else f", keys in {self._keys.where}"
        notes.append(f"created a two-tier CA (root and issuing CA) in {self.directory}{where}")
        return [*notes, *self._describe_urls()]

    def _describe_urls(self) -> list[str]:
        return url_extensions.describe(self._certificates, self._chain.active_issuing())

    def rollover(self) -> list[str]:
        """A new issuing CA under the same root; the older ones keep signing their CRLs
        (and answering OCSP) until the last certificate each issued expires."""
        if self._settings.offline_root:
            raise offline.rollover_offline()
        url_extensions.refuse_if_unusable(self._certificates)
        root = self._authority(ROOT)
        previous = self._chain.active_issuing()
        number = len(self._chain.issuing()) + 1
        name = issuing_name(number)
        made: dict[str, Authority] = {}
        try:
            made[name] = self._make_issuing(root, number)
            self._record(made)
        except Exception:
            if not self._chain.is_ours(name, _certificate(made.get(name))):
                self._keys.undo()  # another node rolled over at the same moment
            raise
        authority = made[name]
        return [
            f"new issuing CA {name} (key id {identity.key_id(authority.certificate)}):"
            f" new certificates come from it; {previous} keeps signing its CRL until the"
            " last certificate it issued expires",
            "give every node the new key (copy the CA directory, or share the token) and"
            " restart it; reload gateways with the new chain (certsvc ca show --pem)",
            *url_extensions.describe(self._certificates, name),
        ]

    def _record(self, authorities: dict[str, Authority]) -> list[str]:
        ours = [identity.identity_of(n, a.certificate) for n, a in authorities.items()]
        self._chain.record(ours, self._keys.where)
        for name, authority in authorities.items():
            self._write_certificate(name, authority)
            self._authorities[name] = authority
        return []

    def _write_certificate(self, name: str, authority: Authority) -> None:
        """``<name>.pem`` beside the keys, whole or not at all (written aside, then renamed):
        a kill between recording the CA and writing its files leaves them missing, never
        cut short, and the next ``init`` writes the missing ones from the database."""
        path = self._path(name, "pem")
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".pem.partial")
        partial.write_bytes(authority.certificate.public_bytes(serialization.Encoding.PEM))
        partial.replace(path)

    def _from_files(self, name: str) -> Authority:
        """A CA made before the database recorded CAs: its certificate and key from files."""
        certificate = x509.load_pem_x509_certificate(self._path(name, "pem").read_bytes())
        key = self._keys.open(name, certificate)
        if key is None or not identity.same_key(key, certificate):
            raise ConfigError(f"{name} CA key in {self._keys.where} is missing or not its own")
        return Authority(certificate, key)

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
        key = self._keys.generate(ROOT, self._settings.key_algorithm)
        name = self._name(f"{self._settings.name} Root CA")
        builder = self._ca_builder(name, name, key.public_key(), self._settings.root_validity_years)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        return Authority(builder.sign(key, hash_for(key)), key)

    def _make_issuing(self, root: Authority, number: int = 1) -> Authority:
        key = self._keys.generate(issuing_name(number), self._settings.key_algorithm)
        name = self._name(f"{self._settings.name} Issuing CA {number}")
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
        """The CA ``name`` as the database records it, with this node's key for it."""
        if name not in self._authorities:
            self._authorities[name] = self._open(name)
        return self._authorities[name]

    def _open(self, name: str) -> Authority:
        """Open the key of a recorded CA; refuse a missing or mismatching one (one line)."""
        recorded, found = self._chain.recorded(), self._chain.find(name)
        if found is None and self._settings.offline_root:
            raise offline.not_imported(self.directory)
        if found is None:
            raise ConfigError(f"local CA not initialised in {self.directory}: run 'certsvc init'")
        certificate = identity.certificate_of(found)
        local = self._path(name, "pem")
        if local.exists() and local.read_bytes().strip() != found.certificate_pem.strip():
            raise identity.mismatch(recorded, name, str(self.directory))
        if name == ROOT and self._settings.offline_root:
            return Authority(certificate, offline.OfflineRootKey.of(certificate))
        key = self._keys.open(name, certificate)
        if key is None:
            raise identity.missing_key(recorded, name, self._keys.where)
        if not identity.same_key(key, certificate):
            raise identity.mismatch(recorded, name, self._keys.where)
        return Authority(certificate, key)

    def check(self) -> list[CheckLine]:
        """Every current CA's key opens now and matches the certificate the database records."""
        try:
            names = self.ca_names()
            for name in names:
                self._open(name)
        except CertsvcError as exc:
            return [CheckLine("keys", False, str(exc))]
        ids = ", ".join(f"{each.ca_name} {each.key_id[:11]}" for each in self._chain.recorded())
        keys = CheckLine("keys", True, f"{len(names)} CA keys open in {self._keys.where}; {ids}")
        return [keys, *self._url_warnings()]

    def _url_warnings(self) -> list[CheckLine]:
        """The issuing CA that signs new certificates lacks a CRL DP (made before it was
        added): strict validators refuse its chain until a rollover makes one with it."""
        active = self._chain.active_issuing()
        if url_extensions.has_distribution_point(self._authority(active).certificate):
            return []
        detail = (
            f"the {active} CA certificate has no CRL distribution point (made before it was "
            "added): strict validators refuse its chain; see README, 'URLs in certificates'"
        )
        return [CheckLine("ca-urls", True, detail, warning=True)]

    # -- issuance -----------------------------------------------------------------------

    def issue(self, request: IssueRequest) -> IssuedCertificate:
        """Sign a client certificate: clientAuth, CA:FALSE, digitalSignature, e-mail in SAN."""
        url_extensions.refuse_if_unusable(self._certificates)
        issuing_ca = self._chain.active_issuing()
        issuing = self._authority(issuing_ca)
        subject = subject_name(request)
        builder = x509.CertificateBuilder(
            issuer_name=issuing.certificate.subject,
            subject_name=subject,
            public_key=request.public_key,
            serial_number=new_serial(),
            not_valid_before=request.not_before,
            not_valid_after=request.not_after,
            extensions=[
                *self._client_extensions(issuing_ca, issuing),
                *subject_extensions(request),
            ],
        )
        certificate = builder.sign(issuing.key, issuing.hash_algorithm)
        return IssuedCertificate(certificate, format_serial(certificate.serial_number), issuing_ca)

    def _client_extensions(
        self, issuing_ca: str, issuing: Authority
    ) -> list[x509.Extension[x509.ExtensionType]]:
        usage = signing_usage(certificates_and_crls=False)
        values: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (usage, True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
            (issuing.key_identifier(), False),
            *url_extensions.leaf_extensions(self._certificates, issuing_ca),
        ]
        return [x509.Extension(value.oid, critical, value) for value, critical in values]

    def fetch(self, ca_ref: str) -> IssuedCertificate:
        """The certificate as certsvc recorded it (a local ``ca_ref`` is the serial)."""
        pem = self._ledger.certificate_pem(ca_ref)
        if pem is None:
            raise NotFound("certificate", ca_ref)
        certificate = x509.load_pem_x509_certificate(pem)
        return IssuedCertificate(certificate, ca_ref, self._chain.issuer_of(certificate))

    def revoke(self, serial: int, reason: RevocationReason, when: datetime) -> None:
        """Nothing to tell: the local CA signs its CRLs from what certsvc recorded."""
        if self._ledger.certificate_pem(format_serial(serial)) is None:
            raise NotFound("certificate", format_serial(serial))

    def find_issued(
        self,
        public_key_sha256: str,
        since: datetime,
        until: datetime,
        known: frozenset[str] = frozenset(),
    ) -> IssuedCertificate | None:
        """Always ``None``: a local signature that was not committed never left the process."""
        return None

    def trust_chain(self) -> list[x509.Certificate]:
        return [
            self._authority(self._chain.active_issuing()).certificate,
            self._authority(ROOT).certificate,
        ]

    # -- revocation ---------------------------------------------------------------------

    def revocation_source(self) -> RevocationSource:
        return self

    def ca_names(self) -> Sequence[str]:
        return self._chain.ca_names()

    def imported_crls(self) -> Sequence[str]:
        """An offline root's CRL is imported from the ceremony and served as is."""
        return (ROOT,) if self._settings.offline_root else ()

    def custody(self) -> tuple[LocalOptions, KeyStore, identity.RecordedChain]:
        """What the online half of the offline-root ceremony works with."""
        return self._settings, self._keys, self._chain

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


def _certificate(authority: Authority | None) -> x509.Certificate | None:
    return authority.certificate if authority is not None else None

"""One CA per database: how the local CA names itself and refuses to be another CA.

The database records each CA certificate of the chain (``certsvc init``, rollover); a
node opens its keys *for those certificates*. These helpers say, in one line, which CA
a database belongs to and what the operator must do when this node cannot sign for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ca_adapters.base import CAIdentity, CALedger
from ca_adapters.local.keys import SigningKey
from certsvc.clock import Clock
from certsvc.errors import ConfigError

ADAPTER, ROOT, ISSUING = "local", "root", "issuing"

HOW_TO_ADD_A_NODE = "see README 'CA keys: adding a node'"


def key_id(certificate: x509.Certificate) -> str:
    """The SubjectKeyIdentifier as ``openssl x509 -text`` prints it (AB:CD:...)."""
    ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return ski.value.digest.hex(":").upper()


def identity_of(ca_name: str, certificate: x509.Certificate) -> CAIdentity:
    return CAIdentity(
        ca_name, certificate.public_bytes(serialization.Encoding.PEM), key_id(certificate)
    )


def certificate_of(identity: CAIdentity) -> x509.Certificate:
    return x509.load_pem_x509_certificate(identity.certificate_pem)


def same_key(key: SigningKey, certificate: x509.Certificate) -> bool:
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(der, spki) == certificate.public_key().public_bytes(
        der, spki
    )


def describe(recorded: Sequence[CAIdentity]) -> str:
    """'CA "CN=certsvc Root CA,O=certsvc" (root key id AB:...)' for the database's root."""
    root = recorded[0]
    subject = certificate_of(root).subject.rfc4514_string()
    return f'CA "{subject}" (root key id {root.key_id})'


def missing_key(recorded: Sequence[CAIdentity], ca_name: str, where: str) -> ConfigError:
    """The node has no key for a CA the database names: never make a new CA beside it."""
    return ConfigError(
        f"this database belongs to {describe(recorded)}, but this node has no {ca_name} CA key"
        f" in {where}: copy the CA directory (certificates, keys, passphrase) from a node of"
        f" that CA, or point ca.local at its PKCS#11 token ({HOW_TO_ADD_A_NODE})"
    )


def mismatch(recorded: Sequence[CAIdentity], ca_name: str, where: str) -> ConfigError:
    """The node's key or certificate is another CA's than the database's."""
    return ConfigError(
        f"the {ca_name} CA key or certificate in {where} does not match {describe(recorded)}"
        f" recorded in the database: this node refuses to sign ({HOW_TO_ADD_A_NODE})"
    )


class RecordedChain:
    """The CAs the database records for the local CA, read once per process.

    ``root`` first, then ``issuing``, ``issuing-2`` ... in rollover order; the newest
    issuing CA signs new certificates, an older one keeps signing its CRL (and answering
    OCSP) until the last certificate it issued expires.
    """

    def __init__(self, ledger: CALedger, clock: Clock) -> None:
        self._ledger = ledger
        self._clock = clock
        self._recorded: list[CAIdentity] | None = None
        self._names: tuple[datetime, tuple[str, ...]] | None = None

    def recorded(self) -> list[CAIdentity]:
        if self._recorded is None:
            self._recorded = list(self._ledger.recorded_cas(ADAPTER))
        return self._recorded

    def record(self, cas: Sequence[CAIdentity], where: str) -> None:
        """Record ``cas``; refuse when the database turned out to name another CA."""
        recorded = list(self._ledger.record_cas(ADAPTER, cas))
        self._recorded, self._names = recorded, None
        mine = {each.ca_name: each.key_id for each in cas}
        if any(mine.get(each.ca_name, each.key_id) != each.key_id for each in recorded):
            raise mismatch(recorded, cas[0].ca_name, where)

    def is_ours(self, ca_name: str, made: x509.Certificate | None) -> bool:
        """Whether the database records ``made`` (this node's new CA) as ``ca_name``."""
        found = self.find(ca_name)
        return made is not None and found is not None and found.key_id == key_id(made)

    def find(self, ca_name: str) -> CAIdentity | None:
        return next((each for each in self.recorded() if each.ca_name == ca_name), None)

    def issuing(self) -> list[str]:
        return [each.ca_name for each in self.recorded() if each.ca_name != ROOT]

    def active_issuing(self) -> str:
        """The newest issuing CA: every new certificate comes from it."""
        names = self.issuing()
        return names[-1] if names else ISSUING

    def ca_names(self) -> tuple[str, ...]:
        """Root, each older issuing CA still needed, the active one; kept for the hour
        (asked on every OCSP request and CRL round)."""
        hour = self._clock.now().replace(minute=0, second=0, microsecond=0)
        if self._names is None or self._names[0] != hour:
            active = self.active_issuing()
            older = [name for name in self.issuing()[:-1] if self._still_issued(name)]
            self._names = (hour, (ROOT, *older, active))
        return self._names[1]

    def _still_issued(self, ca_name: str) -> bool:
        last = self._ledger.last_expiry(ADAPTER, ca_name)
        return last is not None and last > self._clock.now()

    def issuer_of(self, certificate: x509.Certificate) -> str:
        """The recorded issuing CA whose subject is the certificate's issuer."""
        for each in self.recorded():
            if certificate_of(each).subject == certificate.issuer:
                return each.ca_name
        return ISSUING

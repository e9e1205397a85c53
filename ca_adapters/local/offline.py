"""The root as an online node holds it when the root key is offline: public key only.

``ca_adapters.local.ceremony`` does the ceremony; this module is what the adapter needs
to serve without the root key, and the one-line messages that say what to do instead.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import Buffer

from ca_adapters.local.keys import HeldElsewhere
from certsvc.errors import ConfigError

STEPS = (
    "'certsvc ca issuing-csr -o issuing.csr' here, 'certsvc ca root-ceremony --csr"
    " issuing.csr' on the offline box, then 'certsvc ca import-root' here"
)


def not_imported(directory: Path) -> ConfigError:
    """The node is set for an offline root and nothing has been imported yet."""
    return ConfigError(f"offline root: no CA imported into {directory} yet: run {STEPS}")


def rollover_offline() -> ConfigError:
    return ConfigError(
        f"the root key is offline (ca.local.offline_root): for a new issuing CA run {STEPS}"
    )


OFFLINE = "the root CA key is offline (ca.local.offline_root): sign in the root ceremony"


class OfflineRootKey(HeldElsewhere):
    """The root as the online node holds it: its public key only; every use refuses."""

    refusal = OFFLINE

    @classmethod
    def of(cls, certificate: x509.Certificate) -> OfflineRootKey:
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ConfigError("an offline root must have an ECDSA key (ca.local.key_algorithm)")
        return cls(public)

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        self._refuse()

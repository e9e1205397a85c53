"""The root as an online node holds it when the root key is offline: public key only.

``ca_adapters.local.ceremony`` does the ceremony; this module is what the adapter needs
to serve without the root key, and the one-line messages that say what to do instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import Buffer

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


def _offline() -> NoReturn:
    raise ConfigError(
        "the root CA key is offline (ca.local.offline_root): sign in the root ceremony"
    )


class OfflineRootKey(ec.EllipticCurvePrivateKey):
    """The root as the online node holds it: its public key only; every use refuses."""

    def __init__(self, public: ec.EllipticCurvePublicKey) -> None:
        self._public = public

    @classmethod
    def of(cls, certificate: x509.Certificate) -> OfflineRootKey:
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ConfigError("an offline root must have an ECDSA key (ca.local.key_algorithm)")
        return cls(public)

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        _offline()

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _offline()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _offline()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _offline()

    def __copy__(self) -> OfflineRootKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> OfflineRootKey:
        return self

"""CA keys inside a PKCS#11 token (an HSM; SoftHSM2 in the tests), never outside it.

``certsvc init`` generates each CA key in the token as a sensitive, non-extractable
object whose CKA_ID is the certificate's SubjectKeyIdentifier, so any node logged in to
the same token finds the key of a recorded CA certificate. ``cryptography`` builds every
to-be-signed structure and calls ``sign()`` on the key it is given: ``TokenKey`` is such
a key whose ``sign()`` hashes here and has the token sign the digest (CKM_ECDSA), the
raw r||s answer DER-encoded as X.509 wants it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from cryptography.utils import Buffer
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ca_adapters.local.keys import HeldElsewhere
from ca_adapters.local.options import LocalOptions
from certsvc.errors import ConfigError

PIN_ENV = "CERTSVC_PKCS11_PIN"
CURVES = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}


def read_pin(settings: LocalOptions, home: Path) -> str:
    """The user PIN: ``CERTSVC_PKCS11_PIN``, else ``pin_file``; never logged."""
    from_env = os.environ.get(PIN_ENV)
    if from_env:
        return from_env
    if not settings.pin_file:
        raise ConfigError(f"PKCS#11 PIN not set: export {PIN_ENV} or set ca.local.pin_file")
    path = home / settings.pin_file
    try:
        pin = path.read_text().strip()
    except FileNotFoundError as exc:
        raise ConfigError(f"PKCS#11 PIN file not found: {path}") from exc
    if not pin:
        raise ConfigError(f"PKCS#11 PIN file is empty: {path}")
    return pin


class Token:
    """One logged-in session per process, shared by every signing thread under a lock."""

    def __init__(self, settings: LocalOptions, home: Path) -> None:
        self._settings = settings
        self._home = home
        self._session: Any = None
        self.lock = threading.Lock()

    def session(self) -> Any:
        """The open session (log in on first use)."""
        if self._session is None:
            module, label = self._settings.pkcs11_module, self._settings.token_label
            try:
                token = pkcs11.lib(module).get_token(token_label=label)
                self._session = _logged_in(token, read_pin(self._settings, self._home))
            except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
                raise ConfigError(
                    f"PKCS#11 token {label!r} ({module}) cannot be opened: {_describe(exc)}"
                ) from exc
        return self._session


def _logged_in(token: Any, pin: str) -> Any:
    """A read-write session, logged in; a PKCS#11 login is per process, so a second
    session of this process (another adapter instance) shares the first one's login."""
    try:
        return token.open(user_pin=pin, rw=True)
    except pkcs11.exceptions.UserAlreadyLoggedIn:
        return token.open(rw=True)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class TokenKey(HeldElsewhere):
    """An EC private key that lives in the token: it signs, and refuses to be exported."""

    refusal = "a CA key in a PKCS#11 token cannot be exported"

    def __init__(self, token: Token, handle: Any, public: ec.EllipticCurvePublicKey) -> None:
        super().__init__(public)
        self._token = token
        self._handle = handle

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        algorithm = signature_algorithm.algorithm
        if isinstance(algorithm, Prehashed):
            digest = bytes(data)
        else:
            hasher = hashes.Hash(algorithm)
            hasher.update(data)
            digest = hasher.finalize()
        with self._token.lock:
            try:
                raw = bytes(self._handle.sign(digest, mechanism=Mechanism.ECDSA))
            except pkcs11.PKCS11Error as exc:
                raise ConfigError(f"the PKCS#11 token refused to sign: {_describe(exc)}") from exc
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )


class Pkcs11KeyStore:
    """CA keys as token objects labelled ``<name> <ca name>``, found by CKA_ID = SKI."""

    def __init__(self, settings: LocalOptions, home: Path) -> None:
        self._settings = settings
        self._token = Token(settings, home)
        self.where = f"PKCS#11 token {settings.token_label!r}"
        self._created: list[Any] = []

    def prepare(self) -> list[str]:
        self._token.session()
        return []

    def generate(self, ca_name: str, algorithm: str) -> TokenKey:
        session = self._token.session()
        label = f"{self._settings.name} {ca_name}"
        params = encode_named_curve_parameters(CURVES[algorithm])
        with self._token.lock:
            domain = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: params}, local=True
            )
            public, private = domain.generate_keypair(
                store=True,
                label=label,
                id=os.urandom(20),
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                },
            )
            loaded = _load_public(public)
            key_id = x509.SubjectKeyIdentifier.from_public_key(loaded).digest
            public[Attribute.ID] = key_id
            private[Attribute.ID] = key_id
            self._created += [public, private]
        return TokenKey(self._token, private, loaded)

    def undo(self) -> None:
        """Destroy the token objects this process made (a lost race leaves none behind)."""
        with self._token.lock:
            for each in reversed(self._created):
                each.destroy()
        self._created.clear()

    def open(self, ca_name: str, certificate: x509.Certificate) -> TokenKey | None:
        """The token's key whose CKA_ID is the certificate's SKI and whose public key matches."""
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        session = self._token.session()
        with self._token.lock:
            privates = list(
                session.get_objects(
                    {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: ski.value.digest}
                )
            )
            publics = list(
                session.get_objects(
                    {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: ski.value.digest}
                )
            )
            if not privates or not publics:
                return None
            loaded = _load_public(publics[0])
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise ConfigError(f"the {ca_name} CA key in {self.where} is not an EC key")
        return TokenKey(self._token, privates[0], loaded)


def _load_public(public: Any) -> ec.EllipticCurvePublicKey:
    loaded = serialization.load_der_public_key(encode_ec_public_key(public))
    if not isinstance(loaded, ec.EllipticCurvePublicKey):
        raise ConfigError("the token returned a public key that is not an EC key")
    return loaded

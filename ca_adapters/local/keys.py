"""Where the local CA's keys live: files (encrypted PKCS#8, mode 0600) or a PKCS#11 token.

A ``KeyStore`` makes a CA's key and opens it again for its certificate; the adapter
only ever signs through what it returns, so the key store decides whether the key bytes
exist outside a token at all. For files, the passphrase comes from an environment
variable, else a secret file named in config, else a file generated beside the keys on
first use (the embedded default, which ``certsvc init`` announces). It is never logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import NoReturn, Protocol, Self

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ca_adapters.local.options import LocalOptions
from certsvc.errors import ConfigError

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class HeldElsewhere(ec.EllipticCurvePrivateKey):
    """An EC private key whose secret is not in this process (a token, an offline box):
    ``cryptography`` builders sign through ``sign``; every way to export it refuses.

    Subclasses say why in ``refusal`` and implement ``sign``.
    """

    refusal = "this CA key cannot be exported"

    def __init__(self, public: ec.EllipticCurvePublicKey) -> None:
        self._public = public

    def _refuse(self) -> NoReturn:
        raise ConfigError(self.refusal)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        self._refuse()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._refuse()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._refuse()

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self


class KeyStore(Protocol):
    """Makes and opens the CA keys; ``where`` names the store in messages (no secrets)."""

    where: str

    def prepare(self) -> list[str]:
        """Get ready to make keys (a generated passphrase, a token login); notes for the user."""

    def generate(self, ca_name: str, algorithm: str) -> SigningKey:
        """A new key for ``ca_name``, stored; its certificate does not exist yet."""

    def open(self, ca_name: str, certificate: x509.Certificate) -> SigningKey | None:
        """The key of ``ca_name`` for ``certificate``; ``None`` when this store has none.

        :raises ConfigError: a key is there but cannot be opened (passphrase, PIN, token).
        """

    def undo(self) -> None:
        """Remove every key (and generated passphrase) this store made in this process:
        a node that lost the race to record its CA leaves nothing of it behind."""


def generate_key(algorithm: str) -> SigningKey:
    """A new key for ``ecdsa-p256``, ``ecdsa-p384``, ``rsa-2048`` ... ``rsa-4096``."""
    family, _, size = algorithm.partition("-")
    if family == "ecdsa":
        curve = ec.SECP384R1() if size == "p384" else ec.SECP256R1()
        return ec.generate_private_key(curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=int(size))


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only, never with looser rights."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


class Passphrase:
    """Resolves the CA key passphrase by the documented order of sources."""

    def __init__(self, settings: LocalOptions, ca_dir: Path, home: Path) -> None:
        self._settings = settings
        self._default_file = ca_dir / "passphrase"
        self._home = home

    def read(self) -> bytes:
        from_env = (
            os.environ.get(self._settings.passphrase_env) if self._settings.passphrase_env else None
        )
        if from_env:
            return from_env.encode()
        path = self._file()
        try:
            value = path.read_bytes().strip()
        except FileNotFoundError as exc:
            raise ConfigError(f"CA passphrase file not found: {path}") from exc
        if not value:
            raise ConfigError(f"CA passphrase file is empty: {path}")
        return value

    def create_default(self) -> Path | None:
        """Generate the passphrase file when no other source is set; return its path."""
        if self._settings.passphrase_env and os.environ.get(self._settings.passphrase_env):
            return None
        if self._settings.passphrase_file:
            return None
        write_private(self._default_file, secrets.token_urlsafe(32).encode())
        return self._default_file

    def _file(self) -> Path:
        if self._settings.passphrase_file:
            return self._home / self._settings.passphrase_file
        return self._default_file


def save_key(path: Path, key: SigningKey, passphrase: bytes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    write_private(path, pem)


def load_key(path: Path, passphrase: bytes) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase)
    except FileNotFoundError as exc:
        raise ConfigError(f"CA key not found: {path} (run 'certsvc init')") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"CA key {path} cannot be opened: wrong passphrase?") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"CA key {path} is of an unsupported type")
    return key


class FileKeyStore:
    """Keys as ``<dir>/<ca name>.key``, encrypted with the passphrase."""

    def __init__(self, settings: LocalOptions, directory: Path, home: Path) -> None:
        self.directory = directory
        self.where = f"key files in {directory}"
        self._passphrase = Passphrase(settings, directory, home)
        self._created: list[Path] = []

    def prepare(self) -> list[str]:
        generated = self._passphrase.create_default()
        if generated is None:
            return []
        self._created.append(generated)
        return [f"generated a CA key passphrase into {generated} (mode 0600)"]

    def generate(self, ca_name: str, algorithm: str) -> SigningKey:
        key = generate_key(algorithm)
        path = self.directory / f"{ca_name}.key"
        self._created.append(path)
        save_key(path, key, self._passphrase.read())
        return key

    def undo(self) -> None:
        for path in reversed(self._created):
            path.unlink(missing_ok=True)
        self._created.clear()

    def open(self, ca_name: str, certificate: x509.Certificate) -> SigningKey | None:
        path = self.directory / f"{ca_name}.key"
        if not path.exists():
            return None
        return load_key(path, self._passphrase.read())

"""Delivering a server-made key: PKCS#12 that Windows 10/11 and browsers import.

AES-256 with a SHA-256 MAC (``PrivateFormat.PKCS12.encryption_builder()``) by default, or
3DES with a SHA-1 MAC (``[pickup] pkcs12_compat = "legacy"``) for Windows builds older
than Windows 10 1709 and Windows Server 2016; the chain included, and a friendly name so
the certificate is recognisable in the store.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from certsvc.errors import InputError

ServerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def generate_server_key(algorithm: str) -> ServerKey:
    """A fresh subscriber key for ``ecdsa-p256``/``ecdsa-p384``/``rsa-2048``/``rsa-3072``."""
    family, _, size = algorithm.partition("-")
    if family == "ecdsa":
        return ec.generate_private_key(ec.SECP384R1() if size == "p384" else ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(size))


def check_pkcs12_password(password: bytes) -> bytes:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(
            f"PKCS#12 password must be {MIN_PASSWORD}-{MAX_PASSWORD} bytes", "password"
        )
    return password


def make_pkcs12(
    key: ServerKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    password: bytes,
    friendly_name: str,
    compat: str = "modern",
) -> bytes:
    """``compat="legacy"``: 3DES / SHA-1, for Windows builds that cannot read AES PKCS#12."""
    legacy = compat == "legacy"
    algorithm = (
        pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
        if legacy
        else pkcs12.PBES.PBESv2SHA256AndAES256CBC
    )
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(algorithm)
        .hmac_hash(hashes.SHA1() if legacy else hashes.SHA256())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode(), key, certificate, chain, encryption
    )


def csr_for(key: ServerKey) -> bytes:
    """A PEM CSR for a key certsvc made, for CAs that take PKCS#10 (they read only the key)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certsvc")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def proof_signer(key: ServerKey | None) -> Callable[[bytes], bytes] | None:
    """Signs with a key certsvc made (SHA-256; PKCS#1 v1.5 for RSA): proof of possession."""
    if key is None:
        return None
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        return lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    ec_key = key
    return lambda data: ec_key.sign(data, ec.ECDSA(hashes.SHA256()))

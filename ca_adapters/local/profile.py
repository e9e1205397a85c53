"""The local CA's certificate profile: key usages, serials, subjects, signature hashes.

Kept apart from ``adapter`` (which holds the CA's keys and lifecycle) so the profile of
what the local CA signs reads in one place; the test PKI reuses ``signing_usage``.
"""

from __future__ import annotations

import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ca_adapters.base import IssueRequest
from ca_adapters.local.keys import SigningKey


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


def subject_name(request: IssueRequest) -> x509.Name:
    attributes = []
    if request.subject.country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, request.subject.country))
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, request.subject.organization),
        x509.NameAttribute(NameOID.COMMON_NAME, request.subject.common_name),
    ]
    return x509.Name(attributes)


def subject_extensions(request: IssueRequest) -> list[x509.Extension[x509.ExtensionType]]:
    san = x509.SubjectAlternativeName([x509.RFC822Name(request.subject.email)])
    ski = x509.SubjectKeyIdentifier.from_public_key(request.public_key)
    return [x509.Extension(san.oid, False, san), x509.Extension(ski.oid, False, ski)]

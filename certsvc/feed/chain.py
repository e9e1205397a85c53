"""The chain that vouches for one certificate: the CA that signed it, then up to the root.

A client installing its certificate (or a tool checking it with ``openssl verify``) needs
exactly the CAs above it. After a rollover the local CA has more than one issuing CA, so
the chain is found by signature among every CA the gateway trusts, not taken as a whole.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from ca_adapters.base import CAAdapter
from certsvc.feed.crl import gateway_chain

MAX_DEPTH = 8


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def issuer_chain(adapter: CAAdapter, certificate: x509.Certificate) -> list[x509.Certificate]:
    """The issuing CA first, then each CA above it, ending with the (self-signed) root."""
    known = [*gateway_chain(adapter), *adapter.trust_chain()]
    chain: list[x509.Certificate] = []
    current = certificate
    while len(chain) < MAX_DEPTH and current.issuer != current.subject:
        parent = next((each for each in known if _signed_by(current, each)), None)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain


def chain_pem(adapter: CAAdapter, certificate_pem: str) -> str:
    """The PEM bundle of :func:`issuer_chain` for a PEM certificate."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    chain = issuer_chain(adapter, certificate)
    return "".join(each.public_bytes(serialization.Encoding.PEM).decode() for each in chain)

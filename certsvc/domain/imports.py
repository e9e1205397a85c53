"""Certificates another CA issued, as values: read from PEM or DER, and who they belong to.

A service moving to certsvc brings the certificates its subscribers already hold. Each is
read from a file (one DER certificate, or any number of PEM blocks: a bundle) and mapped
to a tenant and subscriber, either from the certificate itself (O = the tenant's name,
CN = the user ID, the SAN e-mail = the subscriber's address) or from a CSV mapping file
keyed by SHA-256 or serial. Pure functions: the caller reads the files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from certsvc.domain.fingerprints import normalise_serial, sha256_hex
from certsvc.errors import InputError

IMPORTED = "import"
"""The ``adapter`` and ``ca_name`` of an imported certificate: no CA of certsvc's."""
PEM_MARKER = b"-----BEGIN CERTIFICATE-----"
MAPPING_COLUMNS = ("company_number", "user_id")
"""Required columns of a mapping CSV, beside ``sha256`` or ``serial``; ``email`` optional."""


@dataclass(frozen=True)
class FoundCertificate:
    """One certificate read from ``source`` (file name, and its place in a bundle)."""

    source: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class Owner:
    """Who a certificate belongs to: the tenant by company number or by name (O=)."""

    user_id: str
    email: str | None
    company_number: str | None = None
    tenant_name: str | None = None


def read_certificates(data: bytes, source: str) -> list[FoundCertificate]:
    """Every certificate in ``data``: PEM blocks (a bundle) or one DER certificate.

    :raises InputError: the file holds no certificate, or a block that is not one.
    """
    if PEM_MARKER in data:
        try:
            loaded = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise InputError(f"{source}: not a valid PEM certificate bundle ({exc})") from exc
        if len(loaded) == 1:
            return [FoundCertificate(source, loaded[0])]
        return [FoundCertificate(f"{source}#{n}", c) for n, c in enumerate(loaded, start=1)]
    try:
        return [FoundCertificate(source, x509.load_der_x509_certificate(data))]
    except ValueError as exc:
        raise InputError(f"{source}: neither a PEM nor a DER certificate") from exc


def owner_from_subject(certificate: x509.Certificate) -> Owner:
    """O = tenant name, CN = user ID, the first SAN e-mail (else the subject's) = address.

    :raises InputError: the subject lacks O or CN.
    """
    subject = certificate.subject
    organisation = _attribute(subject, NameOID.ORGANIZATION_NAME)
    common_name = _attribute(subject, NameOID.COMMON_NAME)
    if organisation is None or common_name is None:
        raise InputError(
            f"subject {subject.rfc4514_string()!r} lacks O= (tenant name) or CN= (user ID); "
            "give a mapping file (--mapping)"
        )
    return Owner(common_name, email_of(certificate), tenant_name=organisation)


def email_of(certificate: x509.Certificate) -> str | None:
    """The certificate's e-mail: the first rfc822Name of the SAN, else the subject's."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.RFC822Name)
    except x509.ExtensionNotFound:
        names = []
    if names:
        return names[0]
    return _attribute(certificate.subject, NameOID.EMAIL_ADDRESS)


def is_ca(certificate: x509.Certificate) -> bool:
    """A CA certificate (basicConstraints CA=true): part of a chain, not a subscriber's."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def read_mapping(text: str) -> dict[str, Owner]:
    """A mapping CSV (header row) as ``{key: owner}``; keys are ``sha256:<hex>`` or
    ``serial:<HEX>`` so either column may be used, row by row.

    :raises InputError: a missing column, an empty key, or a key given twice.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [name for name in MAPPING_COLUMNS if name not in header]
    if missing or not {"sha256", "serial"} & set(header):
        raise InputError(
            "mapping CSV needs the columns company_number, user_id and sha256 or serial "
            f"(optional: email); it has: {', '.join(header) or 'none'}"
        )
    mapping: dict[str, Owner] = {}
    for line, row in enumerate(reader, start=2):
        key = _mapping_key(row, line)
        if key in mapping:
            raise InputError(f"mapping CSV line {line}: {key} is mapped twice")
        email = (row.get("email") or "").strip() or None
        owner = Owner((row["user_id"] or "").strip(), email, (row["company_number"] or "").strip())
        if not owner.user_id or not owner.company_number:
            raise InputError(f"mapping CSV line {line}: company_number and user_id are required")
        mapping[key] = owner
    return mapping


def mapping_keys(certificate: x509.Certificate) -> tuple[str, str]:
    """The keys a mapping CSV may know ``certificate`` by."""
    serial = normalise_serial(f"{certificate.serial_number:X}")
    return f"sha256:{sha256_hex(certificate)}", f"serial:{serial}"


def iter_rows(text: str, columns: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV with a header holding at least ``columns``, with their line numbers.

    :raises InputError: a required column is missing.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [name for name in columns if name not in header]
    if missing:
        raise InputError(f"CSV lacks the column(s) {', '.join(missing)}")
    for line, row in enumerate(reader, start=2):
        yield line, {key: (value or "").strip() for key, value in row.items() if key}


def _mapping_key(row: dict[str, str | None], line: int) -> str:
    sha256 = (row.get("sha256") or "").strip().lower().replace(":", "")
    if sha256:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InputError(f"mapping CSV line {line}: sha256 is not 64 hex digits")
        return f"sha256:{sha256}"
    serial = (row.get("serial") or "").strip()
    if not serial:
        raise InputError(f"mapping CSV line {line}: give sha256 or serial")
    return f"serial:{normalise_serial(serial)}"


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None

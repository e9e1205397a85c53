"""How fast the helpdesk API answers in-process (SQLite, one client), and what a login costs.

Prints: token-authenticated reads per second, issuances per second over HTTP,
idempotent replays per second, and the time of one argon2id verification with the
default parameters (the floor of every pickup login).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from certsvc.access.credentials import Secrets
from certsvc.api.app import create_app
from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.config import CredentialSettings, settings_from_dict
from certsvc.directory import NewSubscriber

ROUNDS = 200


def make_csr() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "browser")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def rate(label: str, count: int, action: Callable[[int], object]) -> None:
    start = time.perf_counter()
    for index in range(count):
        action(index)
    elapsed = time.perf_counter() - start
    print(f"{label:<40} {count / elapsed:8.1f}/s  ({elapsed / count * 1000:6.2f} ms each)")


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        settings = settings_from_dict({"home": str(Path(home))})
        services = Services(settings)
        services.initialise()
        actor = Actor("bench")
        services.directory.add_tenant("1001", "Acme KK", "admin@acme.example.jp", actor)
        services.directory.add_subscriber(
            NewSubscriber("1001", "taro", "taro@acme.example.jp"), actor
        )
        token = services.tokens.create("helpdesk", "bench")
        headers = {"Authorization": f"Bearer {token}"}
        api = TestClient(create_app(services))
        csrs = [make_csr().decode() for _ in range(ROUNDS)]
        serials: list[str] = []

        def issue(index: int) -> None:
            body = {"company_number": "1001", "user_id": "taro", "csr": csrs[index]}
            answer = api.post("/api/v1/certificates", json=body, headers=headers)
            serials.append(answer.json()["serial"])

        rate("POST /api/v1/certificates (issue)", ROUNDS, issue)
        rate(
            "GET /api/v1/certificates/{serial}",
            ROUNDS * 2,
            lambda i: api.get(f"/api/v1/certificates/{serials[i % ROUNDS]}", headers=headers),
        )
        keyed = {**headers, "Idempotency-Key": "bench-1"}
        body = {"company_number": "1001", "user_id": "taro", "csr": csrs[0]}
        api.post("/api/v1/certificates", json=body, headers=keyed)
        rate(
            "POST with a replayed Idempotency-Key",
            ROUNDS,
            lambda i: api.post("/api/v1/certificates", json=body, headers=keyed),
        )
        secrets = Secrets.from_settings(CredentialSettings(), b"k" * 32)
        hashed = secrets.hash_password("Sakura-2026")
        rate("argon2id verify (default cost)", 10, lambda i: secrets.password_matches(hashed, "x"))
        services.engine.dispose()


if __name__ == "__main__":
    main()

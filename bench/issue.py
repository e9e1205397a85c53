"""Certificates issued per second through ``lifecycle`` (SQLite, and PostgreSQL when
``CERTSVC_BENCH_DATABASE_URL`` is set), against ``openssl ca -batch`` as the peer.

Target: >= 1,000 certificates/s on SQLite and >= 10x the openssl figure.
Usage: python bench/issue.py [--count 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certsvc.audit import Actor
from certsvc.clock import SystemClock
from certsvc.config import settings_from_dict
from certsvc.directory import NewSubscriber
from certsvc.lifecycle import CsrKey
from certsvc.logging import configure_logging
from certsvc.services import Services
from tests.keys import make_csr

ACTOR = Actor("bench")


def certsvc_rate(database_url: str, home: Path, csrs: list[bytes]) -> float:
    services = Services(
        settings_from_dict({"home": str(home), "database": {"url": database_url}}), SystemClock()
    )
    services.initialise()
    services.directory.add_tenant("9001", "Bench KK", "admin@bench.example.jp", ACTOR)
    for index in range(len(csrs)):
        services.directory.add_subscriber(
            NewSubscriber("9001", f"user{index}", f"user{index}@bench.example.jp"), ACTOR
        )
    lifecycle = services.lifecycle
    lifecycle.issue("9001", "user0", CsrKey(csrs[0]), ACTOR)  # warm up: CA key decrypted once
    started = time.perf_counter()
    for index, csr in enumerate(csrs[1:], start=1):
        lifecycle.issue("9001", f"user{index}", CsrKey(csr), ACTOR)
    return (len(csrs) - 1) / (time.perf_counter() - started)


def openssl_rate(workdir: Path, csr_files: list[Path]) -> float:
    """``openssl ca -batch`` with a minimal config, one process per certificate."""
    (workdir / "index.txt").write_text("")
    (workdir / "serial").write_text("01\n")
    (workdir / "newcerts").mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            workdir / "ca.key",
            "-out",
            workdir / "ca.pem",
            "-subj",
            "/CN=Bench CA",
            "-days",
            "3650",
        ],
        check=True,
        capture_output=True,
    )
    config = workdir / "ca.cnf"
    config.write_text(f"""[ca]
default_ca = bench
[bench]
dir = {workdir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 730
policy = anything
unique_subject = no
x509_extensions = client
[anything]
commonName = supplied
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
""")
    started = time.perf_counter()
    for index, csr_file in enumerate(csr_files):
        subprocess.run(
            [
                "openssl",
                "ca",
                "-batch",
                "-config",
                config,
                "-in",
                csr_file,
                "-out",
                workdir / f"{index}.pem",
                "-notext",
            ],
            check=True,
            capture_output=True,
        )
    return len(csr_files) / (time.perf_counter() - started)


def main() -> None:
    configure_logging("json", "info", open(os.devnull, "w"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--openssl-count", type=int, default=200, help="openssl is slow; fewer")
    args = parser.parse_args()
    csrs = [make_csr(common_name=f"user{index}") for index in range(args.count + 1)]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        sqlite = certsvc_rate(f"sqlite:///{root / 'bench.db'}", root / "sqlite", csrs)
        print(
            f"certsvc lifecycle, SQLite:     {sqlite:8.0f} certificates/s ({args.count} issuances)"
        )
        postgres_url = os.environ.get("CERTSVC_BENCH_DATABASE_URL")
        if postgres_url:
            postgres = certsvc_rate(postgres_url, root / "pg", csrs)
            print(f"certsvc lifecycle, PostgreSQL: {postgres:8.0f} certificates/s")
        csr_files = []
        for index, csr in enumerate(csrs[: args.openssl_count]):
            path = root / f"req{index}.csr"
            path.write_bytes(csr)
            csr_files.append(path)
        (root / "openssl").mkdir()
        peer = openssl_rate(root / "openssl", csr_files)
        print(f"openssl ca -batch:             {peer:8.0f} certificates/s ({len(csr_files)})")
        print(f"ratio (SQLite / openssl):      {sqlite / peer:8.1f}x  (targets: >= 1000/s, >= 10x)")


if __name__ == "__main__":
    main()

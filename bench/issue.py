"""Certificates issued per second through ``lifecycle`` (SQLite, and PostgreSQL when
``CERTSVC_BENCH_DATABASE_URL`` is set), against ``openssl ca -batch`` as the peer.

Target: >= 1,000 certificates/s on SQLite and >= 10x the openssl figure.
Usage: python bench/issue.py [--count 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from certsvc.app import Services
from certsvc.audit import Actor
from certsvc.clock import SystemClock
from certsvc.config import settings_from_dict
from certsvc.directory import NewSubscriber
from certsvc.lifecycle.operations import CsrKey
from certsvc.logging import configure_logging
from tests.keys import make_csr

ACTOR = Actor("bench")


def prepared_services(database_url: str, home: Path, subscribers: int) -> Services:
    """An initialised certsvc with one tenant and ``subscribers`` subscribers."""
    settings = settings_from_dict({"home": str(home), "database": {"url": database_url}})
    services = Services(settings, SystemClock())
    services.initialise()
    services.directory.add_tenant("9001", "Bench KK", "admin@bench.example.jp", ACTOR)
    for index in range(subscribers):
        services.directory.add_subscriber(
            NewSubscriber("9001", f"user{index}", f"user{index}@bench.example.jp"), ACTOR
        )
    return services


def issue_all(
    services: Services, csrs: list[tuple[int, bytes]], ready: Callable[[], object] = lambda: None
) -> tuple[float, float]:
    """Issue one certificate per (subscriber index, CSR); returns (start, end) instants."""
    lifecycle = services.lifecycle
    lifecycle.adapter.trust_chain()  # warm up: the CA key is decrypted once per process
    ready()
    started = time.monotonic()
    for index, csr in csrs:
        lifecycle.issue("9001", f"user{index}", CsrKey(csr), ACTOR)
    return started, time.monotonic()


def certsvc_rate(database_url: str, home: Path, csrs: list[bytes]) -> float:
    services = prepared_services(database_url, home, len(csrs))
    started, ended = issue_all(services, list(enumerate(csrs)))
    services.close()
    return len(csrs) / (ended - started)


def _worker(
    database_url: str, home: str, csrs: list[tuple[int, bytes]], barrier: Any, out: Any
) -> None:
    configure_logging("json", "info", open(os.devnull, "w"))
    settings = settings_from_dict({"home": home, "database": {"url": database_url}})
    out.put(issue_all(Services(settings, SystemClock()), csrs, barrier.wait))


def certsvc_rate_parallel(database_url: str, home: Path, csrs: list[bytes], workers: int) -> float:
    """The same issuances split over ``workers`` processes on one database, timed from the
    moment all of them are ready (start-up and key decryption excluded)."""
    prepared_services(database_url, home, len(csrs)).close()
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(workers), context.Queue()
    numbered = list(enumerate(csrs))
    processes = [
        context.Process(
            target=_worker, args=(database_url, str(home), numbered[n::workers], barrier, out)
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    spans: list[tuple[float, float]] = [out.get() for _ in processes]
    for process in processes:
        process.join()
    return len(csrs) / (max(end for _, end in spans) - min(start for start, _ in spans))


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


def empty_postgres(url: str) -> str:
    """The benchmark owns the database named by CERTSVC_BENCH_DATABASE_URL: empty it."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def main() -> None:
    configure_logging("json", "info", open(os.devnull, "w"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--openssl-count", type=int, help="default: --count")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    csrs = [make_csr(common_name=f"user{index}") for index in range(args.count)]
    workers = args.workers
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        rates = {"SQLite, 1 process": certsvc_rate(f"sqlite:///{root / 'a.db'}", root / "a", csrs)}
        rates[f"SQLite, {workers} processes"] = certsvc_rate_parallel(
            f"sqlite:///{root / 'b.db'}", root / "b", csrs, workers
        )
        postgres_url = os.environ.get("CERTSVC_BENCH_DATABASE_URL")
        if postgres_url:
            rates["PostgreSQL, 1 process"] = certsvc_rate(
                empty_postgres(postgres_url), root / "c", csrs
            )
            rates[f"PostgreSQL, {workers} processes"] = certsvc_rate_parallel(
                empty_postgres(postgres_url), root / "d", csrs, workers
            )
        csr_files = []
        for index, csr in enumerate(csrs[: args.openssl_count or args.count]):
            path = root / f"req{index}.csr"
            path.write_bytes(csr)
            csr_files.append(path)
        (root / "openssl").mkdir()
        peer = openssl_rate(root / "openssl", csr_files)
    for label, rate in rates.items():
        ratio = rate / peer
        print(f"certsvc lifecycle, {label:24} {rate:7.0f} certificates/s  ({ratio:4.1f}x openssl)")
    print(f"openssl ca -batch, 1 process:             {peer:7.0f} certificates/s")
    print(f"({args.count} issuances each; targets: >= 1,000/s on SQLite and >= 10x openssl)")


if __name__ == "__main__":
    main()

"""Allowlist memory and load time, 1,000,000 issued certificates, against nginx's ``map``.

Same run, same certificates: certsvc loads its in-memory index from the database (in a
child process, so its RSS is its own), and a private nginx starts with the same SHA-1s as
``map $ssl_client_fingerprint`` entries. Prints MB and seconds for both and the ratio;
then the first GET of the JSON export against ``sqlite3 -json`` of the same rows.

    python bench/allowlist.py [--certificates N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway import free_port, load

from certsvc.app import Services
from certsvc.clock import SystemClock
from certsvc.config import settings_from_dict

CHILD = """
import json, resource, sys, time
from certsvc.app import Services
from certsvc.clock import SystemClock
from certsvc.config import settings_from_dict
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024
settings = settings_from_dict({"home": sys.argv[1], "database": {"url": sys.argv[2]}})
services = Services(settings, SystemClock())
index = services.gateway.allowlist
before = rss()
started = time.perf_counter()
with services.sessions() as session:
    index.load(session)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss_delta": rss() - before, "nbytes": index.nbytes,
                  "entries": len(index.by_sha256),
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""

NGINX = """
worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; daemon on;
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {d}/t1; proxy_temp_path {d}/t2; fastcgi_temp_path {d}/t3;
  uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5; access_log off;
  map_hash_max_size 4194304; map_hash_bucket_size 128;
  map $http_x_fp $ok {{ default 0; include {d}/allow.map; }}
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "$ok"; }} }}
}}
"""


def rss_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


def certsvc_index(home: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), url], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def nginx_map(home: Path, services: Services) -> dict[str, float]:
    """Start a private nginx with the same SHA-1s as a map; time until it answers."""
    directory = home / "nginx"
    directory.mkdir()
    query = text("SELECT sha1 FROM certificates WHERE state = 'issued'")
    with services.engine.connect() as connection, (directory / "allow.map").open("w") as out:
        for (sha1,) in connection.execute(query):
            out.write(f"{sha1} 1;\n")
        probe = connection.execute(query).first()
    assert probe is not None
    port = free_port()
    (directory / "nginx.conf").write_text(NGINX.format(d=directory, port=port))
    started = time.perf_counter()
    subprocess.run(["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf")], check=True)
    try:
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", headers={"X-Fp": probe[0]})
                if answer.text == "1":
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        seconds = time.perf_counter() - started
        master = int((directory / "nginx.pid").read_text())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return {"seconds": seconds, "rss": rss_of(int(children[0])), "master_rss": rss_of(master)}
    finally:
        subprocess.run(["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf"),
                        "-s", "stop"], check=False)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="certsvc-bench-"))
    url = args.database_url or f"sqlite:///{home / 'certsvc.db'}"
    try:
        services = Services(settings_from_dict({"home": str(home), "database": {"url": url}}),
                            SystemClock())  # fmt: skip
        if args.database_url:
            with services.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        services.initialise()
        load(services, args.certificates, 0)
        ours = certsvc_index(home, url)
        peer = nginx_map(home, services)
        mb = 1024 * 1024
        backend = services.engine.url.get_backend_name()
        print(f"allowlist, {int(ours['entries']):,} entries ({backend})")
        print(f"  certsvc index arrays: {ours['nbytes'] / mb:.0f} MB; process RSS growth "
              f"{ours['rss_delta'] / mb:.0f} MB (peak RSS {ours['peak'] / mb:.0f} MB); "
              f"load {ours['seconds']:.2f} s")  # fmt: skip
        print(f"  nginx map: worker RSS {peer['rss'] / mb:.0f} MB, ready after "
              f"{peer['seconds']:.2f} s")  # fmt: skip
        print(f"  ratio certsvc/nginx: memory {ours['rss_delta'] / peer['rss']:.2f}x, "
              f"load time {ours['seconds'] / peer['seconds']:.2f}x")  # fmt: skip
        services.engine.dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

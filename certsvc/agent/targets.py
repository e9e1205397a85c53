"""Putting a verified feed in front of a gateway: nginx by files and reload, HAProxy live.

nginx reads CRL and map files only on ``nginx -s reload``, and that command returns before
the new workers run; so the agent tests the config first, reloads, then polls nginx's
loopback status page until it serves the label just written. HAProxy (2.5+) takes CRLs
and ACLs on its admin socket without a reload; those changes live in memory only, so the
files are rewritten too, and a CRL larger than ``tune.bufsize`` falls back to a reload.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests

from certsvc.agent.layout import GatewayFiles, write_atomically
from certsvc.agent.verify import AllowlistKind, VerifiedAllowlist, VerifiedCRLs
from certsvc.errors import GatewayError
from certsvc.logging import get_logger

log = get_logger("certsvc.gateway.agent")


@dataclass(frozen=True)
class FeedUpdate:
    """What changed since the gateway last loaded; ``None`` for a part that did not."""

    crls: VerifiedCRLs | None
    allowlist: VerifiedAllowlist | None
    label: str  # names the whole feed now loaded (CRL numbers, allowlist version)


class Gateway(Protocol):
    allowlist_format: AllowlistKind

    def apply(self, update: FeedUpdate) -> str:
        """Load ``update``; return what was done. :raises GatewayError: it was not loaded."""


def nginx_feed_conf(label: str) -> bytes:
    """The variable the status page prints: proof that the workers run the new files."""
    return f'map "" $certsvc_feed {{\n    default "{label}";\n}}\n'.encode()


class NginxGateway:
    """A private or system nginx whose config was made by ``certsvc gateway-config nginx``."""

    allowlist_format: AllowlistKind = "nginx-map"

    def __init__(
        self,
        files: GatewayFiles,
        status_url: str,
        nginx: str = "nginx",
        config: Path | None = None,
        reload_timeout: float = 30.0,
    ) -> None:
        self.files = files
        self.status_url = status_url
        self.nginx = nginx
        self.config = config or files.directory / "nginx.conf"
        self.reload_timeout = reload_timeout

    def apply(self, update: FeedUpdate) -> str:
        wanted = {self.files.nginx_feed: nginx_feed_conf(update.label)}
        if update.crls is not None:
            wanted[self.files.crl_bundle] = update.crls.pem
        if update.allowlist is not None:
            wanted[self.files.nginx_map] = update.allowlist.body
        if not self.files.nginx_map.exists():
            wanted.setdefault(self.files.nginx_map, b"")
        previous = {path: path.read_bytes() if path.exists() else None for path in wanted}
        for path, data in wanted.items():
            write_atomically(path, data)
        if not self.running():
            return "files written (nginx not running)"
        try:
            self._nginx("-t", "-q")
        except GatewayError:
            _restore(previous)
            raise
        before = set(self._workers())
        self._nginx("-s", "reload")
        self._wait_for(update.label, before)
        return "nginx reloaded"

    def _workers(self) -> dict[int, bool]:
        """The master's workers: pid -> whether it is shutting down (listening no more).

        Read from Linux /proc; elsewhere nothing is found and the status page alone decides.
        """
        try:
            master = int((self.files.directory / "nginx.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return {}
        workers = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                title = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue  # the process went away while we looked
            if parent == master:
                workers[int(stat.parent.name)] = b"shutting down" in title
        return workers

    def _still_listening(self, before: set[int]) -> bool:
        """Whether a worker of the previous config may still take a new connection."""
        return any(pid in before and not draining for pid, draining in self._workers().items())

    def running(self) -> bool:
        pid_file = self.files.directory / "nginx.pid"
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False
        except PermissionError:
            return True  # a master run by another user: it exists
        return True

    def _nginx(self, *arguments: str) -> None:
        prefix = str(self.files.directory)
        command = [self.nginx, "-p", prefix, "-c", str(self.config), *arguments]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise GatewayError(f"{shlex.join(command)} failed: {result.stderr.strip()}")

    def _wait_for(self, label: str, before: set[int]) -> None:
        """Poll the status page until the new workers serve ``label`` (bounded)."""
        deadline = time.monotonic() + self.reload_timeout
        seen = ""
        while time.monotonic() < deadline:
            try:
                seen = requests.get(self.status_url, timeout=2).text.strip()
            except requests.RequestException as exc:
                seen = f"unreachable ({exc.__class__.__name__})"
            if seen == label and not self._still_listening(before):
                return
            time.sleep(0.05)
        raise GatewayError(
            f"nginx did not load the new feed within {self.reload_timeout:g} s "
            f"(status page says {seen!r}, expected {label!r}); see its error log"
        )


def _restore(previous: dict[Path, bytes | None]) -> None:
    """Put back the files nginx refused, so a later restart still finds a good config."""
    for path, data in previous.items():
        if data is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, data)


class HAProxyGateway:
    """HAProxy 2.6 through its admin socket (``stats socket ... level admin``)."""

    allowlist_format: AllowlistKind = "haproxy"

    def __init__(
        self,
        socket_path: Path,
        files: GatewayFiles,
        reload_command: str | None = None,
        bufsize: int = 16384,
    ) -> None:
        self.socket_path = socket_path
        self.files = files
        self.reload_command = reload_command
        self.bufsize = bufsize

    def apply(self, update: FeedUpdate) -> str:
        done = []
        if update.crls is not None:
            write_atomically(self.files.crl_bundle, update.crls.pem)
            done.append(self._load_crls(update.crls.pem))
        if update.allowlist is not None:
            write_atomically(self.files.haproxy_acl, update.allowlist.body)
            done.append(self._load_acl(update.allowlist))
        return "; ".join(done) or "nothing to load"

    def _load_crls(self, pem: bytes) -> str:
        name = str(self.files.crl_bundle)
        payload = f"set ssl crl-file {name} <<\n{pem.decode()}\n"
        if len(payload.encode()) > self.bufsize - 1024:
            return self._reload(f"CRL bundle of {len(pem)} bytes exceeds tune.bufsize")
        _expect(self.command(payload), "transaction created", payload.splitlines()[0])
        _expect(self.command(f"commit ssl crl-file {name}\n"), "success", "commit ssl crl-file")
        return "CRLs committed on the admin socket"

    def _load_acl(self, allowlist: VerifiedAllowlist) -> str:
        name = str(self.files.haproxy_acl)
        answer = self.command(f"prepare acl {name}\n")
        _expect(answer, "new version created", "prepare acl")
        version = answer.strip().rsplit(":", 1)[-1].strip()
        lines = [f"add acl @{version} {name} {pattern}" for pattern in allowlist.patterns]
        lines.append(f"commit acl @{version} {name}")
        errors = self.interactive(lines)
        if errors:
            raise GatewayError(f"HAProxy refused the allowlist: {errors[0]}")
        return f"allowlist ({len(allowlist.patterns)} entries) committed as ACL version {version}"

    def _reload(self, why: str) -> str:
        if not self.reload_command:
            raise GatewayError(f"{why} and no --reload-command is set")
        command = shlex.split(self.reload_command)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise GatewayError(f"{self.reload_command} failed: {result.stderr.strip()}")
        return f"reloaded HAProxy ({why})"

    def command(self, text: str) -> str:
        """One command (with its payload) per connection, answered before HAProxy closes."""
        return self._exchange(text.encode())

    def interactive(self, lines: list[str]) -> list[str]:
        """Many commands over one connection in prompt mode; returns the error answers."""
        script = "prompt\n" + "".join(f"{line}\n" for line in lines) + "quit\n"
        answer = self._exchange(script.encode())
        chunks = [chunk.strip() for chunk in answer.split("\n> ")]
        return [chunk.lstrip("> ").strip() for chunk in chunks if chunk.lstrip("> ").strip()]

    def _exchange(self, data: bytes) -> str:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(30)
                connection.connect(str(self.socket_path))
                connection.sendall(data)
                received = []
                while chunk := connection.recv(65536):
                    received.append(chunk)
        except OSError as exc:
            raise GatewayError(f"HAProxy admin socket {self.socket_path}: {exc}") from exc
        return b"".join(received).decode(errors="replace")


def _expect(answer: str, wanted: str, what: str) -> None:
    if wanted not in answer.lower():
        raise GatewayError(f"HAProxy refused {what!r}: {answer.strip()}")

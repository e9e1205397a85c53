"""The files a gateway reads from certsvc, by name: one place for the config and the agent.

``certsvc gateway-config`` writes configs that name these files and ``certsvc
gateway-agent`` keeps them fresh, so both must agree on every name.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHAIN = "chain.pem"
"""The trust file (issuing CA, then root): ``ssl_client_certificate`` / ``ca-file``."""
CRL_BUNDLE = "crl-bundle.pem"
"""A full PEM CRL for every CA of the chain: ``ssl_crl`` / ``crl-file``."""
NGINX_MAP = "allow.map"
"""The allowlist as nginx ``map`` lines: ``<sha1 fingerprint> 1;``."""
HAPROXY_ACL = "allow.acl"
"""The allowlist as HAProxy ACL patterns: one SHA-256 fingerprint per line."""
NGINX_FEED = "certsvc-feed.conf"
"""What the agent last loaded; nginx serves it on its status port so a reload can be seen."""
STATE = "certsvc-agent.json"
"""The agent's memory: ETags, CRL numbers and the allowlist version it holds."""
STATUS_PATH = "/certsvc-feed"


@dataclass(frozen=True)
class GatewayFiles:
    """The paths of the feed files inside one gateway directory."""

    directory: Path

    @property
    def chain(self) -> Path:
        return self.directory / CHAIN

    @property
    def crl_bundle(self) -> Path:
        return self.directory / CRL_BUNDLE

    @property
    def nginx_map(self) -> Path:
        return self.directory / NGINX_MAP

    @property
    def haproxy_acl(self) -> Path:
        return self.directory / HAPROXY_ACL

    @property
    def nginx_feed(self) -> Path:
        return self.directory / NGINX_FEED

    @property
    def state(self) -> Path:
        return self.directory / STATE


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file + rename: a gateway never reads a half-written CRL or map (nginx 1.27.4+
    even skips a file whose inode did not change, so rewriting in place is not enough)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

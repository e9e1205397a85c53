"""The allowlist rendered for each kind of gateway, cached per version.

- ``json``: ``{"version", "generated_at", "entries": [{"serial", "sha1", "sha256",
  "issuer", "subject", "not_after"}]}``
- ``text``: ``serial sha1 sha256`` per line
- ``nginx-map``: ``<sha1> 1;`` per line, for ``map $ssl_client_fingerprint $ok {
  default 0; include allow.map; }``
- ``haproxy``: one SHA-256 per line, an ACL file for ``ssl_c_der,sha2(256),hex,lower``

The text formats start with ``# certsvc allowlist version V generated_at T`` so a
gateway agent can refuse a file whose version goes backwards.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from certsvc.errors import InputError
from certsvc.feed.allowlist import AllowlistIndex, Entry


@dataclass(frozen=True)
class Rendered:
    """One allowlist document and its strong ETag."""

    body: bytes
    media_type: str
    etag: str
    version: int


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def _quote(text: str) -> str:
    """A JSON string; most names need no escaping, so skip ``json.dumps`` for those."""
    return json.dumps(text, ensure_ascii=False) if _NEEDS_ESCAPE.search(text) else f'"{text}"'


def _json(entries: list[Entry], version: int, generated_at: str) -> bytes:
    """Written piece by piece: ``json.dumps`` of a million dicts takes ten seconds.

    Serials, fingerprints and times are hex and ISO 8601 (nothing to escape); names go
    through ``json.dumps`` (issuers memoised: there are only a few).
    """
    issuer = functools.lru_cache(maxsize=256)(json.dumps)
    parts = [f'{{"version":{version},"generated_at":"{generated_at}","entries":[']
    parts.append(
        ",".join(
            f'{{"serial":"{e.serial}","sha1":"{e.sha1}","sha256":"{e.sha256}",'
            f'"issuer":{issuer(e.issuer)},"subject":{_quote(e.subject)},'
            f'"not_after":"{e.not_after.isoformat()}"}}'
            for e in entries
        )
    )
    parts.append("]}")
    return "".join(parts).encode()


def _lines(line: Callable[[Entry], str]) -> Callable[[list[Entry], int, str], bytes]:
    def render(entries: list[Entry], version: int, generated_at: str) -> bytes:
        header = f"# certsvc allowlist version {version} generated_at {generated_at}\n"
        return (header + "".join(line(entry) for entry in entries)).encode()

    return render


FORMATS: dict[str, tuple[str, Callable[[list[Entry], int, str], bytes]]] = {
    "json": ("application/json", _json),
    "text": ("text/plain; charset=utf-8", _lines(lambda e: f"{e.serial} {e.sha1} {e.sha256}\n")),
    "nginx-map": ("text/plain; charset=utf-8", _lines(lambda e: f"{e.sha1} 1;\n")),
    "haproxy": ("text/plain; charset=utf-8", _lines(lambda e: f"{e.sha256}\n")),
}


class Exports:
    """Renders each format once per (version, lapsed count) and serves it from memory."""

    def __init__(self, index: AllowlistIndex) -> None:
        self.index = index
        self._cache: dict[str, Rendered] = {}
        self._lock = threading.Lock()

    def etag(self, format_: str, now: datetime) -> str:
        """The ETag the document would have now (cheap: no rendering)."""
        if format_ not in FORMATS:
            raise InputError(f"format must be one of {', '.join(FORMATS)}", "format")
        return _etag(format_, self.index.version, self.index.lapsed(now.timestamp()))

    def render(self, format_: str, now: datetime) -> Rendered:
        etag = self.etag(format_, now)
        with self._lock:
            cached = self._cache.get(format_)
            if cached is not None and cached.etag == etag:
                return cached
            version, lapsed, entries = self.index.snapshot(now.timestamp())
            media_type, render = FORMATS[format_]
            body = render(entries, version, now.astimezone(UTC).isoformat())
            rendered = Rendered(body, media_type, _etag(format_, version, lapsed), version)
            self._cache[format_] = rendered
            return rendered


def _etag(format_: str, version: int, lapsed: int) -> str:
    """Strong: at one version the set is fixed, and ``lapsed`` says which entries timed out."""
    return f'"{format_}-{version}-{lapsed}"'

"""The HTTP side of the fake CA: answers, problem+json errors, and the request handlers.

``tests.fakes.globalsign`` decides what to answer; this module only speaks HTTP/1.1 as
the spec wants it (``application/json;charset=utf-8`` with a ``Content-Length``, errors
as ``application/problem+json``), with the fake's clock in the ``Date`` header.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.hvca_ca import Problem

PROBLEM_TYPE = "application/problem+json;charset=utf-8"
JSON_TYPE = "application/json;charset=utf-8"


class Drop(Exception):
    """Close the connection without any answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE


def problem_body(description: str) -> dict[str, Any]:
    return {"description": description, "id": secrets.token_hex(8), "errors": {}}


def json_request(headers: Any, raw: bytes) -> dict[str, Any]:
    content_type = str(headers.get("Content-Type", "")).replace(" ", "").lower()
    if content_type != JSON_TYPE:
        raise Problem(415, f"Content-Type must be {JSON_TYPE}")
    if headers.get("Content-Length") is None:
        raise Problem(411, "Content-Length required")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise Problem(422, f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise Problem(422, "a JSON object is expected")
    return body


class Handler(BaseHTTPRequestHandler):
    """Replies with the fake's clock in ``Date``; ``server.fake`` is the FakeGlobalSign."""

    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> Any:
        return self.server.fake  # type: ignore[attr-defined]

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.fake.now(), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, answer: Answer) -> None:
        if isinstance(answer.body, bytes):
            data = answer.body
        else:
            data = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        if data:
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class APIHandler(Handler):
    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            answer = self.fake.handle(self.command, self.path, self.headers, raw)
        except Drop:
            self.close_connection = True
            return
        self.reply(answer)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


class CRLHandler(Handler):
    def do_GET(self) -> None:
        which = self.path.removeprefix("/crl/").removesuffix(".crl")
        if which not in ("root", "issuing"):
            self.reply(Answer(404, problem_body("no such CRL"), {}, PROBLEM_TYPE))
            return
        try:
            der = self.fake.crl(which)
        except Problem as problem:
            self.reply(Answer(problem.status, problem_body(problem.description), {}, PROBLEM_TYPE))
            return
        self.reply(Answer(200, der, {}, "application/pkix-crl"))

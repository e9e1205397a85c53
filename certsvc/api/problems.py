"""RFC 9457 problem+json answers for every error that reaches HTTP.

Certsvc errors map to their status; FastAPI's own answers (404 for an unknown route, 405,
request validation) and anything unexpected are rewritten to problem+json as well, so a
client parses one error shape, whatever went wrong.

Every answer's ``type`` is ``https://certsvc.invalid/problems/<slug>`` and its ``title``
the slug itself (what clients already compare), one of :data:`SLUGS`: a slug has one
title and one type wherever the error is raised.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from certsvc.errors import (
    AuthenticationFailed,
    CAError,
    CertsvcError,
    ConfigError,
    Conflict,
    GatewayError,
    InputError,
    MaintenanceWindow,
    NotFound,
    PermissionDenied,
    StillPending,
)
from certsvc.logging import get_logger

log = get_logger("certsvc.api")
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://certsvc.invalid/problems/"
STATUS_FOR: tuple[tuple[type[CertsvcError], int, str], ...] = (
    (InputError, 422, "invalid-input"),
    (AuthenticationFailed, 401, "unauthenticated"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (MaintenanceWindow, 503, "maintenance"),
    (CAError, 502, "ca-error"),
    (GatewayError, 502, "gateway-error"),
    (ConfigError, 500, "configuration"),
)
HTTP_TITLES = {
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    503: "not-ready",
}
SLUGS = frozenset(
    {title for _kind, _status, title in STATUS_FOR}
    | set(HTTP_TITLES.values())
    | {
        "bad-request",
        "database-unavailable",
        "error",
        "forbidden",
        "gone",
        "internal-error",
        "request-timeout",
        "unauthenticated",
    }
)


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem; an unknown slug is a bug of ours, caught by tests."""
    assert slug in SLUGS, f"unknown problem slug {slug!r}"
    return PROBLEM_BASE + slug


def problem(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def for_error(error: CertsvcError) -> JSONResponse:
    """The problem+json answer for one certsvc error (also used by the middlewares)."""
    for kind, status, title in STATUS_FOR:
        if isinstance(error, kind):
            extra = {"field": error.field} if isinstance(error, InputError) else {}
            return problem(status, title, str(error), _headers(error), **extra)
    return problem(500, "error", str(error))


def install(app: FastAPI) -> None:
    """Route every error, ours or the framework's, to a problem+json answer."""

    async def certsvc_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CertsvcError)
        return for_error(error)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        title = HTTP_TITLES.get(error.status_code, "error")
        headers = dict(error.headers) if error.headers else None
        return problem(error.status_code, title, str(error.detail), headers)

    async def validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"loc": [str(part) for part in item["loc"]], "msg": str(item["msg"])}
            for item in error.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return problem(422, "invalid-input", detail, errors=errors)

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        if database_down(error):
            log.error("database.unavailable", path=request.url.path, error=type(error).__name__)
            detail = "the database is unreachable; retry shortly"
            return problem(503, "database-unavailable", detail, {"Retry-After": "5"})
        log.error("unhandled error", path=request.url.path, error=type(error).__name__)
        return problem(500, "internal-error", "internal error; see the server log")

    app.add_exception_handler(CertsvcError, certsvc_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


def database_down(error: BaseException) -> bool:
    """A database that cannot be reached (connection refused or cut, a file that cannot
    be opened) is an outage the client may retry (503), not a bug of ours (500)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (OperationalError, InterfaceError))


def _headers(error: CertsvcError) -> dict[str, str] | None:
    if isinstance(error, MaintenanceWindow):
        return {"Retry-After": error.ends_at.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    if isinstance(error, AuthenticationFailed):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, StillPending):
        return {"Retry-After": str(error.retry_after_seconds)}
    return None

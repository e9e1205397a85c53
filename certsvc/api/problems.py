"""RFC 9457 problem+json answers for every certsvc error that reaches HTTP."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from certsvc.errors import (
    CAError,
    CertsvcError,
    ConfigError,
    Conflict,
    InputError,
    MaintenanceWindow,
    NotFound,
)

PROBLEM_JSON = "application/problem+json"
STATUS_FOR: tuple[tuple[type[CertsvcError], int, str], ...] = (
    (InputError, 422, "invalid-input"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (MaintenanceWindow, 503, "maintenance"),
    (CAError, 502, "ca-error"),
    (ConfigError, 500, "configuration"),
)


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    """Map every ``CertsvcError`` to its status with a problem+json body."""

    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CertsvcError)
        for kind, status, title in STATUS_FOR:
            if isinstance(error, kind):
                headers = _retry_after(error)
                return problem(status, title, str(error), headers)
        return problem(500, "error", str(error))

    app.add_exception_handler(CertsvcError, handle)


def _retry_after(error: CertsvcError) -> dict[str, str] | None:
    if isinstance(error, MaintenanceWindow):
        return {"Retry-After": error.ends_at.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    return None

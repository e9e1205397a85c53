"""The OpenAPI document declares what every error really is: RFC 9457 problem+json.

Every error that reaches HTTP is rewritten to problem+json (``certsvc.api.problems``), but
FastAPI documents only its 422 and as plain JSON of another shape. This post-processing of
``app.openapi()`` adds a ``Problem`` schema, gives every declared 4xx/5xx response that
content, and adds ``4XX``/``5XX`` to each operation, so a generated client (or a fuzzer)
expects the shape it will get.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from certsvc.api.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; some errors add fields (e.g. errors).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "https://certsvc.invalid/problems/<slug>"},
        "title": {"type": "string", "description": "a short code, e.g. not-found"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
    },
}
PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
RANGES = {"4XX": "client error (problem+json)", "5XX": "server error (problem+json)"}


def declare(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare problem+json for every operation's errors."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = with_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_problems(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code[:1] in ("4", "5"):
                    response["content"] = PROBLEM_CONTENT
            for code, description in RANGES.items():
                responses.setdefault(code, {"description": description, "content": PROBLEM_CONTENT})
    return schema

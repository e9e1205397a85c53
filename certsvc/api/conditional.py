"""Conditional GETs: strong ETags, Last-Modified, and 304 answers without a body."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response


def http_date(instant: datetime) -> str:
    return format_datetime(instant, usegmt=True)


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only when it is absent."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def cached_response(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    etag: str,
    last_modified: datetime | None,
    headers: Mapping[str, str],
) -> Response:
    """The document, or 304 with the same validators when the client's copy is current."""
    all_headers = {"ETag": etag, **headers}
    if last_modified is not None:
        all_headers["Last-Modified"] = http_date(last_modified)
    if not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=all_headers)
    if request.method == "HEAD":
        all_headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=all_headers, media_type=media_type)
    return Response(body, media_type=media_type, headers=all_headers)

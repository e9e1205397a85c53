"""Paging for every list of the API: ``limit``/``offset``, a total and RFC 8288 links.

A list answer stays a JSON array (what clients of earlier versions read), in a stable
order given by its query (id, company number, time then id). The page's place is in the
headers: ``X-Total-Count`` (all matching items), and ``Link`` with ``first``, ``prev``
and ``next`` built from the request's own URL, so a client follows ``next`` until
there is none without knowing the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TOTAL_HEADER = "X-Total-Count"


@dataclass(frozen=True)
class Page:
    """Which slice of a list the caller asked for."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


def page_of(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> Page:
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page_of)]

PAGED_HEADERS: dict[str, Any] = {
    TOTAL_HEADER: {"description": "Items matching in all", "schema": {"type": "integer"}},
    "Link": {
        "description": 'RFC 8288 links: rel="first", "prev", "next" (absent on the last page)',
        "schema": {"type": "string"},
    },
}
"""The headers of a paged answer, for the OpenAPI document (``responses=paged(...)``)."""


def paged_responses(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "headers": PAGED_HEADERS}}


def paginate(
    request: Request, response: Response, items: Sequence[T], total: int, page: Page
) -> list[T]:
    """Set the total and the links of ``items`` (one page of ``total``); return the page."""
    response.headers[TOTAL_HEADER] = str(total)
    links = [_link(request, page.limit, 0, "first")]
    if page.offset > 0:
        links.append(_link(request, page.limit, max(page.offset - page.limit, 0), "prev"))
    if page.offset + len(items) < total:
        links.append(_link(request, page.limit, page.offset + page.limit, "next"))
    response.headers["Link"] = ", ".join(links)
    return list(items)


def _link(request: Request, limit: int, offset: int, rel: str) -> str:
    url = request.url.include_query_params(limit=limit, offset=offset)
    return f'<{url}>; rel="{rel}"'

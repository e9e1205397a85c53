"""``/console``: the expiry dashboard (per tenant, or the operator's tenant only): what
expires within 7, 30 and 60 days, pickups waiting, failed mails, locked subscribers;
the expiry windows drawn as an inline ``<svg>`` bar chart rendered here (no script)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from certsvc.access.scope import tenant_scope
from certsvc.lifecycle.console_reads import TenantFigures
from certsvc.web.console.parts import ConsoleDep
from certsvc.web.console.session import PATH, signed_in
from certsvc.web.console.view import show

router = APIRouter(include_in_schema=False)
CHART_WIDTH = 480
BAR_HEIGHT = 28


@dataclass(frozen=True)
class Bar:
    label_days: int
    count: int
    width: int
    y: int


def bars(totals: TenantFigures) -> tuple[Bar, ...]:
    """One bar per window, scaled to the widest (a chart of zeros draws no bar)."""
    counts = ((7, totals.expiring_7), (30, totals.expiring_30), (60, totals.expiring_60))
    widest = max(count for _, count in counts) or 1
    return tuple(
        Bar(days, count, round(CHART_WIDTH * count / widest), index * (BAR_HEIGHT + 8))
        for index, (days, count) in enumerate(counts)
    )


@router.get(PATH)
def dashboard_page(request: Request, parts: ConsoleDep) -> Response:
    current = signed_in(request, parts)
    if isinstance(current, Response):
        return current
    figures = parts.reads.dashboard(tenant_scope(current.principal))
    return show(
        request,
        "dashboard.html",
        current,
        figures=figures,
        bars=bars(figures.totals),
        chart_width=CHART_WIDTH,
        bar_height=BAR_HEIGHT,
    )

"""Operations endpoints: readiness and Prometheus metrics (liveness is ``/healthz``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from certsvc.api.deps import gateway_of
from certsvc.api.problems import problem

router = APIRouter(include_in_schema=False)


@router.get("/readyz")
def readyz(request: Request) -> Response:
    """503 while a CRL is stale or the feed cannot be read: a load balancer stops sending."""
    problems = gateway_of(request).problems()
    if problems:
        return problem(503, "not-ready", "; ".join(problems))
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(gateway_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)

"""``/api/v1/outbox``: re-queue failed mails (admin); a sent one is never sent twice."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from certsvc.api.auth import Admin
from certsvc.api.deps import ServicesDep
from certsvc.api.v1.schemas import TicketBody

router = APIRouter(prefix="/outbox", tags=["outbox"])


@router.post("/{message_id}/retry", summary="Re-queue one failed message")
def retry(
    message_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    caller: Admin,
    services: ServicesDep,
    body: TicketBody | None = None,
) -> Any:
    """409 when the message is sent or still queued, 404 when there is none."""
    ticket = body.ticket if body else None
    return services.outbox_retry.retry(message_id, caller.actor(ticket)).to_dict()


@router.post("/retry-failed", summary="Re-queue every failed message")
def retry_failed(caller: Admin, services: ServicesDep, body: TicketBody | None = None) -> Any:
    return services.outbox_retry.retry_failed(caller.actor(body.ticket if body else None)).to_dict()

"""Webhook deliveries: list the outbox (e.g. the ``dead`` ones) and send an event again (admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import func, select

from api.db.models import OutboxEvent
from api.deps import AdminKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, Limit, Name, Offset
from api.schemas.webhooks import DeliveryStatus, WebhookEventListOut, WebhookEventOut

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _out(row: OutboxEvent, include_payload: bool = False) -> WebhookEventOut:
    return WebhookEventOut(id=row.id, event_type=row.event_type, target_url=row.target_url, status=row.status,  # type: ignore[arg-type]
                           attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
                           created_at=row.created_at, delivered_at=row.delivered_at,
                           payload=dict(row.payload) if include_payload else None)


@router.get("/events", response_model=WebhookEventListOut, responses=ERRORS)
def list_events(session: SessionDep, _: AdminKey, status: DeliveryStatus | None = None, event_type: Name = None,
                include_payload: bool = False, limit: Limit = 100, offset: Offset = 0) -> WebhookEventListOut:
    """Webhook events, newest first: ``status=dead`` lists those that ran out of attempts, with the last error."""
    query = select(OutboxEvent)
    if status is not None:
        query = query.where(OutboxEvent.status == status)
    if event_type is not None:
        query = query.where(OutboxEvent.event_type == event_type)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(OutboxEvent.created_at.desc(), OutboxEvent.id).limit(limit).offset(offset))
    return WebhookEventListOut(total=total, items=[_out(r, include_payload) for r in rows])


@router.post("/events/{event_id}/retry", response_model=WebhookEventOut,
             responses={**ERRORS, 404: {"description": "unknown event"}, 409: {"description": "already delivered"}})
def retry_event(event_id: Annotated[str, Path(max_length=36)], session: SessionDep, _: AdminKey) -> WebhookEventOut:
    """Send an event again, e.g. a ``dead`` one once the receiver is fixed: it gets a fresh set of attempts and
    keeps its id, so the receiver can still drop a repeat by the ``Idempotency-Key``. A delivered event is not
    sent twice (409)."""
    row = session.get(OutboxEvent, event_id)
    if row is None:
        raise ApiError(404, f"no webhook event {event_id!r}")
    if row.status == "delivered":
        raise ApiError(409, f"webhook event {event_id} was delivered at {row.delivered_at}; it is not sent twice")
    row.status, row.attempts, row.next_attempt_at, row.locked_until = "pending", 0, datetime.now(UTC), None
    session.flush()
    return _out(row)

"""Webhook deliveries (the outbox), for inspection and re-sending."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

DeliveryStatus = Literal["pending", "delivered", "dead"]


class WebhookEventOut(BaseModel):
    id: str = Field(description="event id, sent as the Idempotency-Key header on every attempt")
    event_type: str = Field(examples=["alert.created"])
    target_url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, examples=["HTTP 503"])
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any] | None = Field(default=None, description="only with include_payload=true")


class WebhookEventListOut(BaseModel):
    total: int
    items: list[WebhookEventOut]

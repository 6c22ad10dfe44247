"""Alerts on urgent answers, team feeds and counts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import InputModel, Timestamp, UrgencyReasonOut

AlertStatus = Literal["new", "assigned", "contacted", "resolved"]


class AlertEventOut(BaseModel):
    at: datetime
    actor: str | None
    kind: str = Field(examples=["status"])
    old: str | None
    new: str | None
    note: str | None


class AlertOut(BaseModel):
    id: int
    response_id: int
    external_id: str
    customer_id: str | None
    score: int
    text: str
    lang: str
    level: str
    reasons: list[UrgencyReasonOut]
    team: str | None
    status: AlertStatus
    owner: str | None
    due_at: datetime
    overdue: bool
    created_at: datetime
    updated_at: datetime
    history: list[AlertEventOut]


class AlertListOut(BaseModel):
    total: int
    items: list[AlertOut]


class AlertPatch(InputModel):
    """Change an alert; every change is recorded in its history."""

    status: AlertStatus | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    due_at: Timestamp | None = None
    note: str | None = Field(default=None, max_length=5000)

    model_config = {"json_schema_extra": {"examples": [{"status": "contacted", "note": "Called back, refund promised"}]}}


class TeamOut(BaseModel):
    team: str
    problems: int
    praise: int
    open_alerts: int
    overdue_alerts: int
    open_action_items: int
    overdue_action_items: int


class TeamsOut(BaseModel):
    items: list[TeamOut]


class FeedItemOut(BaseModel):
    response_id: int
    external_id: str
    timestamp: datetime
    score: int
    lang: str
    theme: str
    kind: Literal["problem", "praise", "mention"]
    sentiment: str
    confidence: float
    text: str
    evidence: dict[str, object] | None = None


class FeedOut(BaseModel):
    team: str
    total: int
    items: list[FeedItemOut]

"""NPS, action points and passive drivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import InputModel, Timestamp

Period = Literal["day", "week", "month"]
SegmentName = Literal["team", "department", "channel", "touchpoint", "country", "customer_id"]


class NpsSummaryOut(BaseModel):
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None = Field(examples=[23.5])
    se: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95


class NpsChangeOut(BaseModel):
    current: NpsSummaryOut
    previous: NpsSummaryOut
    delta: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool


class NpsPeriodOut(NpsSummaryOut):
    period: str = Field(examples=["2024-05-01"])
    change: NpsChangeOut | None = None


class NpsSegmentOut(BaseModel):
    value: str | None
    summary: NpsSummaryOut
    trend: list[NpsPeriodOut]
    change: NpsChangeOut | None = Field(description="last period against the one before")


class NpsOut(BaseModel):
    period: Period
    overall: NpsSummaryOut
    trend: list[NpsPeriodOut]
    change: NpsChangeOut | None = Field(description="last period against the one before, with significance")
    by: SegmentName | None = None
    segments: list[NpsSegmentOut] = Field(default_factory=list)


class QuoteOut(BaseModel):
    text: str
    lang: str | None
    score: int | None
    sentiment: str
    evidence: dict[str, Any] | None = None
    id: str | None = None


class ActionItemOut(BaseModel):
    id: int
    theme: str
    team: str | None
    title: str | None
    owner: str
    due_at: datetime | None
    status: Literal["open", "in_progress", "done"]
    progress: int
    overdue: bool
    notes: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class ActionPointOut(BaseModel):
    theme: str = Field(examples=["billing_payment"])
    label: str
    team: str | None
    count: int
    share: float
    negative: int
    neutral: int
    positive: int
    net_sentiment: float
    nps_with: float | None
    nps_without: float | None
    impact: float = Field(description="leave-one-out impact: NPS(all) - NPS(without this theme)")
    impact_ci: tuple[float, float]
    negative_impact: float
    trend: list[dict[str, Any]]
    share_change: float | None
    quotes: list[QuoteOut]
    assignments: list[ActionItemOut] = Field(default_factory=list)


class ActionPointsOut(BaseModel):
    n: int
    nps: float | None
    items: list[ActionPointOut]


class PassiveDriverOut(BaseModel):
    theme: str
    label: str
    team: str | None
    passives: int
    passive_share: float
    promoter_share: float
    gap: float = Field(description="percentage points more passives than promoters mention it negatively/neutrally")
    quotes: list[QuoteOut]


class PassiveDriversOut(BaseModel):
    passives: int
    items: list[PassiveDriverOut]


class ActionItemIn(InputModel):
    owner: str = Field(min_length=1, max_length=200, examples=["jan@example.com"])
    due_at: Timestamp | None = Field(default=None, examples=["2024-06-01T00:00:00Z"])
    title: str | None = Field(default=None, max_length=300, examples=["Fix double charges on direct debit"])
    team: str | None = Field(default=None, max_length=100, description="default: the theme's owning team")


class ActionItemPatch(InputModel):
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    due_at: Timestamp | None = None
    status: Literal["open", "in_progress", "done"] | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    note: str | None = Field(default=None, max_length=5000)

"""NPS, action points and passive drivers.

The output schemas NpsSummaryOut, NpsChangeOut, ActionPointOut, PassiveDriverOut and QuoteOut mirror the library's
result dataclasses (nps_nlp.nps, nps_nlp.action_points) field for field, with the same types and defaults, plus
the fields only the service adds; tests/api/test_api_nps_fields.py and test_api_schema_types.py hold them to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import InputModel, Timestamp
from nps_nlp.nps import Interval

Period = Literal["day", "week", "month"]
RankBy = Literal["impact", "revenue_at_risk"]
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
    interval: Interval = Field(description="how the interval is computed: adjusted-wald (the default) or wald")
    min_n: int = Field(description="answers needed before a change involving this set may be called significant")
    too_few: bool = Field(description="fewer than min_n answers (or none at all)")
    reason: str | None = Field(description="why too_few is set, in words for a page; null otherwise")


class NpsChangeOut(BaseModel):
    current: NpsSummaryOut
    previous: NpsSummaryOut
    delta: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool = Field(description="p_value below 1 - confidence, the interval excludes 0 and neither side is too_few")
    interval: Interval = Field(description="how the interval is computed: adjusted-wald (the default) or wald")
    min_n: int = Field(description="answers needed on each side before the change may be called significant")
    too_few: bool = Field(description="either period has fewer than min_n answers; significant is then false")
    reason: str | None = Field(
        description="why too_few is set, in words for a page; null otherwise",
        examples=["too few answers: 4 now, 40 before; at least 30 on each side are needed before a change is called significant"],
    )


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
    revenue_at_risk: float = Field(default=0.0, description="revenue of the distinct accounts with a detractor answer "
                                                            "mentioning the theme other than positively")
    accounts_at_risk: int = 0
    currency: str | None = None


class ActionPointsOut(BaseModel):
    n: int
    nps: float | None
    rank_by: RankBy = "impact"
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
    gap_ci: tuple[float, float] | None = Field(description="confidence interval of gap (Agresti-Caffo), containing gap")
    significant: bool = Field(description="gap_ci lies above 0 and neither passives nor promoters are too_few")
    too_few: bool = Field(description="fewer than min_n passives or promoters in all; significant is then false")
    reason: str | None = Field(description="why too_few is set, in words for a page; null otherwise")


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

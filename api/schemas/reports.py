"""The leaderboard, report digests and their e-mail subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import InputModel
from api.schemas.insights import NpsChangeOut, NpsSummaryOut

DigestPeriod = Literal["day", "week", "month"]
Locale = Literal["en", "nl", "nb"]
LeaderboardPeriod = Literal["week", "month", "quarter"]


class FollowupOut(BaseModel):
    alerts: int = Field(description="alerts on detractors opened in the period")
    judged: int = Field(description="alerts contacted, or past the follow-up target without contact")
    in_time: int = Field(description="first marked contacted (or resolved) within the target")
    pending: int = Field(description="not contacted yet but still inside the target: not judged")
    share: float | None = Field(description="in_time / judged")
    ci_low: float | None = Field(description="Wilson 95% interval of the share")
    ci_high: float | None
    median_hours: float | None = Field(description="median hours from alert to first contact")


class BadgeOut(BaseModel):
    badge: Literal["most_improved", "fastest_follow_up", "most_praised"]
    reason: str = Field(examples=["9 of 10 detractors contacted within 48 hours"])


class LeaderboardRowOut(BaseModel):
    team: str
    rank: int
    nps: NpsSummaryOut
    previous: NpsSummaryOut = Field(description="the period before")
    change: NpsChangeOut
    followup: FollowupOut
    praise: int = Field(description="praise mentions routed to the team in the period")
    praise_previous: int
    badges: list[BadgeOut]


class BadgeRulesOut(BaseModel):
    followup_hours: float
    min_alerts: int
    followup_target: float
    min_praise: int
    min_n: int


class LeaderboardOut(BaseModel):
    period: LeaderboardPeriod
    label: str = Field(examples=["2026-11"])
    start: datetime
    end: datetime
    tz: str
    complete: bool = Field(description="the period has ended")
    rank_by: Literal["followup", "improvement", "praise"]
    rules: BadgeRulesOut
    teams: list[LeaderboardRowOut]


class QuoteOut(BaseModel):
    text: str
    score: int | None = None
    lang: str | None = None
    theme: str | None = None
    evidence: str | None = None


class DigestPointOut(BaseModel):
    theme: str
    label: str
    team: str | None
    count: int
    impact: float | None
    impact_ci: list[float] | None = None
    quotes: list[QuoteOut]


class DigestAlertOut(BaseModel):
    id: int
    level: str
    team: str | None
    status: str
    owner: str | None
    due_at: datetime
    hours_overdue: float
    score: int
    text: str


class DigestOut(BaseModel):
    period: DigestPeriod
    team: str | None = Field(description="null: the whole company")
    label: str
    start: datetime
    end: datetime
    tz: str
    nps: NpsSummaryOut
    change: NpsChangeOut
    trend: list[dict[str, object]] = Field(description="the periods of the chart: period, nps, ci_low, ci_high, n")
    action_points: list[DigestPointOut]
    praise: list[QuoteOut]
    praise_count: int
    overdue_alerts: list[DigestAlertOut]
    overdue_count: int


class SubscriptionIn(InputModel):
    """Send the ``period`` digest of ``team`` (or of the company when ``team`` is left out) to ``email``, written in
    ``locale`` (English, Dutch or Norwegian Bokmål)."""

    email: str = Field(max_length=254, examples=["lead@example.com"])
    period: DigestPeriod
    team: str | None = Field(default=None, max_length=100)
    locale: Locale = "en"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        from email.headerregistry import Address
        from email.utils import parseaddr

        name, addr = parseaddr(value.strip())
        local, at, domain = addr.rpartition("@")
        if not at or not local or "." not in domain or name or addr != value.strip():
            raise ValueError("not an e-mail address; write it as name@example.com")
        try:
            Address(addr_spec=addr)
        except (ValueError, IndexError, TypeError):
            raise ValueError("not an e-mail address; write it as name@example.com") from None
        return addr


class SubscriptionOut(BaseModel):
    id: int
    email: str
    period: DigestPeriod
    team: str | None
    locale: Locale
    created_at: datetime
    created_by: str | None


class DigestSentOut(BaseModel):
    id: int
    subscription_id: int | None
    email: str
    period: DigestPeriod
    team: str | None
    period_start: datetime
    status: Literal["sending", "sent", "failed"]
    attempts: int
    error: str | None
    sent_at: datetime | None


class RunOut(BaseModel):
    sent: int = Field(description="digests e-mailed by this run")
    failed: int
    skipped: int = Field(description="due digests already sent (or being sent) before")

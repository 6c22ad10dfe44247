"""Survey quarantine: contact rules, the log of surveys sent, and the may-we-survey check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.schemas.common import InputModel, SurveyTime

MAX_CHECK = 100_000
"""Most customers in one eligibility request."""

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ReasonCode = Literal["recent_survey", "recent_complaint", "open_alert", "yearly_limit"]


class RuleIn(InputModel):
    """A contact rule for one channel, or for every channel (``*``)."""

    channel: str = Field(default="*", min_length=1, max_length=100, description="a channel, or * for every channel")
    survey_days: int = Field(default=90, ge=0, le=3660, description="no survey within this many days of the last")
    complaint_days: int = Field(default=30, ge=0, le=3660,
                                description="no survey within this many days of a complaint (a detractor answer)")
    max_per_year: int = Field(default=4, ge=1, le=1000, description="at most this many surveys in 365 days")


class RulesIn(InputModel):
    """The complete set of rules (replaces the stored ones; without a ``*`` rule the settings' default applies)."""

    rules: list[RuleIn] = Field(max_length=1000)

    model_config = {"json_schema_extra": {"examples": [{"rules": [
        {"channel": "*", "survey_days": 90, "complaint_days": 30, "max_per_year": 4},
        {"channel": "sms", "survey_days": 180, "complaint_days": 30, "max_per_year": 2}]}]}}


class RuleOut(BaseModel):
    channel: str
    survey_days: int
    complaint_days: int
    max_per_year: int
    source: Literal["settings", "stored"]


class RulesOut(BaseModel):
    rules: list[RuleOut]


class SurveySentIn(InputModel):
    customer_id: str = Field(min_length=1, max_length=200)
    channel: str | None = Field(default=None, max_length=100)
    sent_at: SurveyTime | None = Field(default=None, description="ISO-8601; default now")
    survey_id: str | None = Field(default=None, max_length=200)


class SurveysSentIn(InputModel):
    """Surveys sent (up to ``NPS_MAX_BULK`` per request)."""

    surveys: list[SurveySentIn] = Field(min_length=1)

    model_config = {"json_schema_extra": {"examples": [{"surveys": [
        {"customer_id": "acct-981", "channel": "email", "sent_at": "2026-12-01T09:00:00Z", "survey_id": "q4-relationship"}]}]}}


class SurveysSentOut(BaseModel):
    logged: int


class EligibilityIn(InputModel):
    """Customers to check, and optionally the channel of the planned survey, the moment (default now) and which
    customers the answer lists."""

    customer_ids: list[CustomerId] = Field(min_length=1, max_length=MAX_CHECK)
    channel: str | None = Field(default=None, max_length=100)
    at: SurveyTime | None = Field(default=None, description="ISO-8601; default now")
    results: Literal["all", "not_eligible"] = Field(
        default="all", description="list every customer (default), or only those who may not be surveyed now; "
                                   "`checked` and `eligible` count every customer either way")

    model_config = {"json_schema_extra": {"examples": [{"customer_ids": ["acct-981", "acct-982"], "channel": "email"},
                                                       {"customer_ids": ["acct-981", "acct-982"],
                                                        "results": "not_eligible"}]}}


class EligibilityItemOut(BaseModel):
    customer_id: str
    eligible: bool
    reasons: list[ReasonCode] = Field(default_factory=list)
    reason: str | None = None
    eligible_from: datetime | None = Field(default=None, description="first moment every rule allows a survey "
                                                                     "(empty while an alert is open)")


class EligibilityOut(BaseModel):
    checked: int
    eligible: int
    channel: str | None
    rule: RuleOut
    at: datetime
    results: list[EligibilityItemOut]

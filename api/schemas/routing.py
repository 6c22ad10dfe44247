"""Routing rules (themes and segments -> team, default owner, team lead), follow-up per team, team feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.common import InputModel

SegmentField = Literal["team", "department", "channel", "touchpoint", "country"]
Level = Literal["critical", "high", "medium", "low"]


class RuleMatch(InputModel):
    """What a rule matches; every field given must hold (none given: every alert). ``theme``: one of the answer's
    themes; ``level``: the alert's urgency level; the rest: the response's segment values (``team`` is the
    frontline team that handled the customer)."""

    theme: str | None = Field(default=None, min_length=1, max_length=100)
    level: Level | None = None
    team: str | None = Field(default=None, min_length=1, max_length=100)
    department: str | None = Field(default=None, min_length=1, max_length=100)
    channel: str | None = Field(default=None, min_length=1, max_length=100)
    touchpoint: str | None = Field(default=None, min_length=1, max_length=100)
    country: str | None = Field(default=None, min_length=1, max_length=100)


_EXAMPLE: dict[str, Any] = {"priority": 10, "match": {"team": "support-north"}, "team_from": "team", "owner": "kari@example.com",
            "lead": "lead-north@example.com"}


class RuleIn(InputModel):
    """A routing rule. Rules are tried by ``priority`` (lowest first, then oldest); the first that matches gives a
    new alert its team (``team``, or the value of the response's ``team_from`` segment) and owner. ``lead`` is
    the team lead an overdue alert is escalated to."""

    priority: int = Field(default=100, ge=0, le=1_000_000)
    match: RuleMatch = Field(default_factory=RuleMatch)
    team: str | None = Field(default=None, min_length=1, max_length=100)
    team_from: SegmentField | None = Field(default=None, description="take the team from this segment of the response")
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    lead: str | None = Field(default=None, min_length=1, max_length=200)

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}

    @model_validator(mode="after")
    def _one_team(self) -> RuleIn:
        if (self.team is None) == (self.team_from is None):
            raise ValueError("give exactly one of team (a team name) and team_from (a segment: team, department, "
                             "channel, touchpoint or country)")
        return self


class RulePatch(InputModel):
    """Fields to change (``match`` is replaced as a whole)."""

    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    match: RuleMatch | None = None
    team: str | None = Field(default=None, min_length=1, max_length=100)
    team_from: SegmentField | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    lead: str | None = Field(default=None, min_length=1, max_length=200)


class RuleOut(BaseModel):
    id: int
    priority: int
    match: dict[str, str]
    team: str | None
    team_from: str | None
    owner: str | None
    lead: str | None
    source: Literal["api", "file"] = Field(description="file: loaded from NPS_ROUTING_RULES_FILE at start-up")
    created_at: datetime
    updated_at: datetime


class RuleListOut(BaseModel):
    items: list[RuleOut]


class FollowupTeamOut(BaseModel):
    team: str
    alerts: int = Field(description="alerts created in the window and routed to the team")
    followed_up: int = Field(description="first marked contacted or resolved")
    within_target: int = Field(description="followed up within target_hours of creation")
    pending: int = Field(description="not followed up yet and still inside target_hours: not judged")
    share_within_target: float | None = Field(description="within_target / judged alerts (followed up, or past the "
                                                          "target without follow-up)")
    median_hours: float | None = Field(description="hours from creation to first contact, of followed-up alerts")
    p90_hours: float | None
    escalated: int = Field(description="alerts escalated to the team lead when overdue")


class FollowupOut(BaseModel):
    target_hours: float
    overall: FollowupTeamOut
    items: list[FollowupTeamOut]


class TeamFeedItemOut(BaseModel):
    response_id: int
    external_id: str
    timestamp: datetime
    score: int
    lang: str
    theme: str | None = Field(description="the theme the team owns, or the answer's theme (null: none)")
    kind: Literal["problem", "praise", "mention"] | None
    sentiment: str
    confidence: float | None
    text: str
    evidence: dict[str, object] | None = None
    via: Literal["theme", "segment"] = Field(description="theme: a theme routed to the team; segment: the team "
                                                         "handled the customer (the response's team segment)")


class TeamFeedOut(BaseModel):
    team: str
    total: int
    items: list[TeamFeedItemOut]


class EscalationTickOut(BaseModel):
    overdue: int = Field(description="alerts newly found overdue (each sends alert.overdue once)")
    escalated: int = Field(description="of which escalated to the team lead")

"""Survey quarantine: contact rules, the log of surveys sent, and "may we survey these customers now?"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ContactRule
from api.deps import AdminKey, IngestKey, ReadKey, SessionDep, SettingsDep
from api.errors import ApiError
from api.routers.common import ERRORS, check_batch
from api.schemas.surveys import (
    EligibilityIn,
    EligibilityOut,
    RulesIn,
    RulesOut,
    SurveysSentIn,
    SurveysSentOut,
)
from api.services import quarantine
from api.settings import ServiceSettings

router = APIRouter(prefix="/v1/surveys", tags=["surveys"])


def _rule_out(rule: quarantine.Rule, settings: ServiceSettings, stored: set[str]) -> dict[str, Any]:
    return {"channel": rule.channel, "survey_days": rule.survey_days, "complaint_days": rule.complaint_days,
            "max_per_year": rule.max_per_year, "source": "stored" if rule.channel in stored else "settings"}


def _rules_out(session: Session, settings: ServiceSettings) -> RulesOut:
    stored = set(session.scalars(select(ContactRule.channel)))
    rules = quarantine.rules(session, settings)
    return RulesOut.model_validate({"rules": [_rule_out(r, settings, stored) for _, r in sorted(rules.items())]})


@router.get("/rules", response_model=RulesOut, responses=ERRORS)
def get_rules(session: SessionDep, settings: SettingsDep, _: ReadKey) -> RulesOut:
    """The contact rules in force: ``*`` for every channel (from the settings unless stored) and per channel."""
    return _rules_out(session, settings)


@router.put("/rules", response_model=RulesOut, responses=ERRORS)
def put_rules(body: RulesIn, session: SessionDep, settings: SettingsDep, caller: AdminKey) -> RulesOut:
    """Replace the stored contact rules. A rule for a channel replaces the ``*`` rule for surveys on that channel
    and counts only that channel's surveys; without a stored ``*`` rule the settings' default applies."""
    channels = [r.channel for r in body.rules]
    twice = sorted({c for c in channels if channels.count(c) > 1})
    if twice:
        raise ApiError(422, "one rule per channel", [f"rules: channel {c!r} appears more than once" for c in twice[:10]])
    quarantine.set_rules(session, [quarantine.Rule(r.channel, r.survey_days, r.complaint_days, r.max_per_year)
                                   for r in body.rules], caller.name)
    return _rules_out(session, settings)


@router.post("/sent", response_model=SurveysSentOut, status_code=201,
             responses={**ERRORS, 413: {"description": "too many surveys in one request"}})
def log_sent(body: SurveysSentIn, session: SessionDep, settings: SettingsDep, _: IngestKey) -> SurveysSentOut:
    """Log surveys sent (many at once): the quarantine rules count them."""
    check_batch(len(body.surveys), settings.max_bulk, "surveys", "NPS_MAX_BULK")
    n = quarantine.log_sent(session, [s.model_dump() for s in body.surveys], datetime.now(UTC))
    return SurveysSentOut(logged=n)


@router.post("/eligibility", response_model=EligibilityOut, responses=ERRORS)
def eligibility(body: EligibilityIn, session: SessionDep, settings: SettingsDep, _: ReadKey) -> EligibilityOut:
    """May these customers be surveyed now (or at ``at``), on ``channel``? Per customer: ``eligible``, the
    ``reasons`` when not (``recent_survey``, ``recent_complaint``, ``open_alert``, ``yearly_limit``) in codes and
    words, and ``eligible_from``, the first moment every rule allows it. Up to 100,000 customers per request."""
    at = body.at or datetime.now(UTC)
    verdicts = quarantine.check(session, settings, body.customer_ids, body.channel, at)
    rule = quarantine.rule_for(quarantine.rules(session, settings), body.channel)
    stored = {rule.channel} if _is_stored(session, rule.channel) else set()
    results = [{"customer_id": v.customer_id, "eligible": v.eligible, "reasons": v.reasons, "reason": v.reason,
                "eligible_from": v.eligible_from} for v in verdicts]
    out = EligibilityOut.model_validate({"checked": len(verdicts), "eligible": sum(v.eligible for v in verdicts),
                                        "channel": body.channel, "rule": _rule_out(rule, settings, stored),
                                        "at": at, "results": results})
    # validated once above and serialised by pydantic-core: 100,000 verdicts need no second pass
    return Response(out.model_dump_json(), media_type="application/json")  # type: ignore[return-value]


def _is_stored(session: Session, channel: str) -> bool:
    return session.scalar(select(ContactRule.id).where(ContactRule.channel == channel)) is not None

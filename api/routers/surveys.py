"""Survey quarantine: contact rules, the log of surveys sent, and "may we survey these customers now?"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic_core import to_json
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
    words, and ``eligible_from``, the first moment every rule allows it. Up to 100,000 customers per request;
    ``results: "not_eligible"`` lists only the customers who may not be surveyed."""
    with quarantine.collector_paused():
        content = _eligibility(body, session, settings)
    return Response(content, media_type="application/json")  # type: ignore[return-value]


def _eligibility(body: EligibilityIn, session: Session, settings: ServiceSettings) -> bytes:
    found = quarantine.screen(session, settings, body.customer_ids, body.channel, body.at or datetime.now(UTC))
    stored = {found.rule.channel} if _is_stored(session, found.rule.channel) else set()
    return eligibility_json(found, body.channel, _rule_out(found.rule, settings, stored), body.results == "all")


_ELIGIBLE = b',"eligible":true,"reasons":[],"reason":null,"eligible_from":null}'


def eligibility_json(found: quarantine.Screening, channel: str | None, rule: dict[str, Any], every: bool) -> bytes:
    """``EligibilityOut`` as JSON (``every``: list every customer, else only those refused), written by pydantic-core
    from plain values: they are the service's own, so a model per customer would be built and validated for
    nothing. A customer who may be surveyed is one fixed text around the id; no object is kept per customer, which
    also spares the garbage collector."""
    refused = found.refused

    def item(v: quarantine.Verdict) -> bytes:
        return to_json({"customer_id": v.customer_id, "eligible": False, "reasons": v.reasons, "reason": v.reason,
                        "eligible_from": v.eligible_from})

    if every:
        items = [item(refused[cid]) if cid in refused else b'{"customer_id":' + to_json(cid) + _ELIGIBLE
                 for cid in found.ids]
    else:
        items = [item(v) for cid in found.ids if (v := refused.get(cid)) is not None]
    head = to_json({"checked": len(found.ids), "eligible": found.eligible, "channel": channel, "rule": rule,
                    "at": found.at, "results": []})
    return head[:-len(b"[]}")] + b"[" + b",".join(items) + b"]}"


def _is_stored(session: Session, channel: str) -> bool:
    return session.scalar(select(ContactRule.id).where(ContactRule.channel == channel)) is not None

"""Ownership: routing rules (themes and segments -> team, owner, lead), escalation of overdue alerts, and
follow-up time per team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import AdminKey, ReadKey, SessionDep, StateDep
from api.routers.common import ERRORS, RowId
from api.schemas.common import Timestamp
from api.schemas.routing import EscalationTickOut, FollowupOut, RuleIn, RuleListOut, RuleOut, RulePatch
from api.services import escalation, routing

router = APIRouter(prefix="/v1", tags=["routing"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown rule"}}


@router.get("/routing/rules", response_model=RuleListOut, responses=ERRORS)
def list_rules(session: SessionDep, _: ReadKey) -> RuleListOut:
    """The routing rules in the order they are tried (lowest priority first, then oldest)."""
    return RuleListOut.model_validate({"items": [routing.rule_out(r) for r in routing.rules(session)]})


@router.post("/routing/rules", response_model=RuleOut, status_code=201, responses=ERRORS)
def create_rule(body: RuleIn, session: SessionDep, _: AdminKey) -> RuleOut:
    """Add a rule: alerts created from now on that match it get its team and owner; ``lead`` is who an overdue
    alert of the team is escalated to."""
    return RuleOut.model_validate(routing.rule_out(routing.add(session, body)))


@router.get("/routing/rules/{rule_id}", response_model=RuleOut, responses={**ERRORS, **NOT_FOUND})
def get_rule(rule_id: RowId, session: SessionDep, _: ReadKey) -> RuleOut:
    return RuleOut.model_validate(routing.rule_out(routing.get(session, rule_id)))


@router.patch("/routing/rules/{rule_id}", response_model=RuleOut, responses={**ERRORS, **NOT_FOUND})
def update_rule(rule_id: RowId, body: RulePatch, session: SessionDep, _: AdminKey) -> RuleOut:
    """Change a rule (``match`` is replaced as a whole; giving ``team`` clears ``team_from`` and the reverse)."""
    return RuleOut.model_validate(routing.rule_out(routing.change(session, rule_id, body)))


@router.delete("/routing/rules/{rule_id}", status_code=204, response_class=Response, responses={**ERRORS, **NOT_FOUND})
def delete_rule(rule_id: RowId, session: SessionDep, _: AdminKey) -> Response:
    """Delete a rule (alerts it routed keep their team and owner; a rule from the file returns at restart)."""
    session.delete(routing.get(session, rule_id))
    return Response(status_code=204)


@router.post("/routing/escalate", response_model=EscalationTickOut, responses=ERRORS)
async def escalate_now(state: StateDep, _: AdminKey) -> EscalationTickOut:
    """Run the overdue check now (the service also runs it every NPS_ESCALATION_POLL_S seconds)."""
    return EscalationTickOut.model_validate(await run_in_threadpool(escalation.tick, state.db, state.settings))


@router.get("/teams/followup", response_model=FollowupOut, responses=ERRORS)
def get_followup(session: SessionDep, _: ReadKey,
                 since: Annotated[Timestamp | None, Query(description="alerts created from (ISO-8601, inclusive)")] = None,
                 until: Annotated[Timestamp | None, Query(description="alerts created until (exclusive)")] = None,
                 team: Annotated[str | None, Query(max_length=100)] = None,
                 target_hours: Annotated[float, Query(gt=0, le=24 * 90)] = 48.0) -> FollowupOut:
    """Follow-up per team: hours from an alert's creation to its first ``contacted`` or ``resolved`` (median and
    90th percentile), the share followed up within ``target_hours`` (alerts still inside it and not followed up
    are pending, not judged), and escalations. Alerts closed on a history import are left out."""
    return FollowupOut.model_validate(escalation.followup(session, since, until, team, target_hours))

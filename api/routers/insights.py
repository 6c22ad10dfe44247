"""NPS with intervals and period changes, action points, passive drivers, action-point assignments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from api.db.models import ActionItem
from api.deps import ModelDep, ReadKey, SessionDep, TriageKey
from api.errors import ApiError
from api.routers.common import ERRORS, MAX_ID, FiltersDep, Name, RowId
from api.schemas.insights import (
    ActionItemIn,
    ActionItemOut,
    ActionItemPatch,
    ActionPointsOut,
    NpsOut,
    PassiveDriversOut,
    Period,
    RankBy,
    SegmentName,
)
from api.services.accounts import with_revenue_at_risk
from api.services.queries import action_item_out, action_point_report, nps_report, passive_report
from api.services.triage import ItemChange, change_action_item, create_action_item

router = APIRouter(prefix="/v1", tags=["insights"])


@router.get("/nps", response_model=NpsOut, responses=ERRORS)
def get_nps(session: SessionDep, filters: FiltersDep, _: ReadKey, period: Period = "month",
            by: Annotated[SegmentName | None, Query(description="also split by this segment")] = None) -> NpsOut:
    """NPS overall and per period (day/week/month) with 95% intervals; ``change`` compares the last period
    with the one before and says whether the difference is significant. ``by`` adds the same per segment value."""
    return NpsOut.model_validate(nps_report(session, filters, period, by))


@router.get("/action-points", response_model=ActionPointsOut, responses=ERRORS)
def get_action_points(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: Period = "month",
                      min_count: Annotated[int, Query(ge=1, le=MAX_ID)] = 3, n_quotes: Annotated[int, Query(ge=0, le=20)] = 3,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      rank_by: Annotated[RankBy, Query(description="impact on NPS, or revenue at risk")] = "impact",
                      currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="revenue in this currency "
                                                            "only (needed when accounts use several)")] = None,
                      ) -> ActionPointsOut:
    """Themes ranked by their effect on NPS (leave-one-out impact with a bootstrap interval, most harmful
    first), with volume, sentiment, NPS with/without, trend, owning team, quotes and open assignments.
    Each also has the revenue at risk of the accounts whose detractor answers mention it (not positively);
    ``rank_by=revenue_at_risk`` ranks by that, largest first."""
    report = action_point_report(session, filters, model.pipeline.taxonomy, period, min_count, n_quotes,
                                 limit if rank_by == "impact" else MAX_ID)
    report["items"] = with_revenue_at_risk(session, filters, report["items"], currency, rank_by)[:limit]
    report["rank_by"] = rank_by
    return ActionPointsOut.model_validate(report)


@router.get("/action-points/passives", response_model=PassiveDriversOut, responses=ERRORS)
def get_passive_drivers(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey,
                        min_count: Annotated[int, Query(ge=1, le=MAX_ID)] = 2, n_quotes: Annotated[int, Query(ge=0, le=20)] = 3,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> PassiveDriversOut:
    """What keeps a 7 from being a 9: themes passives criticise more often than promoters."""
    return PassiveDriversOut.model_validate(passive_report(session, filters, model.pipeline.taxonomy, min_count, n_quotes, limit))


@router.post("/action-points/{theme}/assignments", response_model=ActionItemOut, status_code=201,
             responses={**ERRORS, 404: {"description": "unknown theme"}})
def assign_action_point(theme: Annotated[str, Path(max_length=100)], body: ActionItemIn, session: SessionDep,
                        model: ModelDep, caller: TriageKey) -> Any:
    """Assign an action point (a theme) to an owner with a deadline; progress is tracked on the item."""
    taxonomy = model.pipeline.taxonomy
    if theme not in taxonomy:
        raise ApiError(404, f"unknown theme {theme!r}; known: {', '.join(taxonomy.ids)}")
    item = create_action_item(session, theme, body.team or taxonomy.team_of(theme), body.owner, caller.name, body.title,
                              body.due_at)
    return ActionItemOut.model_validate(action_item_out(item))


@router.get("/action-items", response_model=list[ActionItemOut], responses=ERRORS)
def list_action_items(session: SessionDep, _: ReadKey, team: Name = None, theme: Name = None,
                      status: Name = None, overdue: bool | None = None) -> list[ActionItemOut]:
    """Assigned action points, filterable by team, theme, status and overdue."""
    query = select(ActionItem).order_by(ActionItem.id)
    for column, value in ((ActionItem.team, team), (ActionItem.theme, theme), (ActionItem.status, status)):
        if value is not None:
            query = query.where(column == value)
    now = datetime.now(UTC)
    items = [action_item_out(i, now) for i in session.scalars(query)]
    if overdue is not None:
        items = [i for i in items if i["overdue"] == overdue]
    return [ActionItemOut.model_validate(i) for i in items]


@router.patch("/action-items/{item_id}", response_model=ActionItemOut, responses={**ERRORS, 404: {"description": "unknown item"}})
def update_action_item(item_id: RowId, body: ActionItemPatch, session: SessionDep, caller: TriageKey) -> ActionItemOut:
    """Change owner, deadline, status (open, in_progress, done) or progress (0-100), or add a note."""
    item = session.get(ActionItem, item_id)
    if item is None:
        raise ApiError(404, f"no action item {item_id}")
    changes = body.model_dump(exclude_unset=True)
    now = datetime.now(UTC)
    change_action_item(session, item, ItemChange(body.owner, body.status, body.progress, body.due_at, "due_at" in changes,
                                                 body.note), caller.name, now)
    return ActionItemOut.model_validate(action_item_out(item, now))

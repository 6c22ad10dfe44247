"""Routing and follow-up per team: counts, and each team's own problems and praise."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import ModelDep, ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Limit, Offset
from api.schemas.alerts import FeedOut, TeamsOut
from api.schemas.common import short
from api.services.queries import known_team, team_counts, team_feed

router = APIRouter(prefix="/v1/teams", tags=["teams"])


@router.get("", response_model=TeamsOut, responses=ERRORS)
def list_teams(session: SessionDep, filters: FiltersDep, _: ReadKey) -> TeamsOut:
    """Per team: problems and praise routed to it (in the filter window), open and overdue alerts and action items."""
    return TeamsOut.model_validate({"items": team_counts(session, filters)})


@router.get("/{name}/feed", response_model=FeedOut, responses={**ERRORS, 404: {"description": "unknown team"}})
def get_feed(name: Annotated[str, Path(max_length=100)], session: SessionDep, filters: FiltersDep, model: ModelDep,
             _: ReadKey, kind: Annotated[Literal["problem", "praise", "mention"] | None, Query()] = None,
             limit: Limit = 100, offset: Offset = 0) -> FeedOut:
    """A team's feed: the answers whose themes the team owns, newest first; ``kind=problem`` or ``praise``.
    A team that neither the model's taxonomy names nor any answer was routed to is a 404 naming the known teams."""
    taxonomy = model.pipeline.taxonomy
    teams = {t.team for t in taxonomy.themes if t.team}
    if not known_team(session, name, teams):
        raise ApiError(404, f"unknown team {short(name)}; the taxonomy's teams are {', '.join(sorted(teams))}")
    return FeedOut.model_validate(team_feed(session, name, kind, filters, limit, offset))

"""Routing and follow-up per team: counts, and each team's own problems and praise."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import ModelDep, ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Limit, Offset
from api.schemas.alerts import TeamsOut
from api.schemas.common import short
from api.schemas.routing import TeamFeedOut
from api.services import routing
from api.services.queries import team_counts

router = APIRouter(prefix="/v1/teams", tags=["teams"])


@router.get("", response_model=TeamsOut, responses=ERRORS)
def list_teams(session: SessionDep, filters: FiltersDep, _: ReadKey) -> TeamsOut:
    """Per team: problems and praise routed to it (in the filter window), open and overdue alerts and action items."""
    return TeamsOut.model_validate({"items": team_counts(session, filters)})


@router.get("/{name}/feed", response_model=TeamFeedOut, responses={**ERRORS, 404: {"description": "unknown team"}})
def get_feed(name: Annotated[str, Path(max_length=100)], session: SessionDep, filters: FiltersDep, model: ModelDep,
             _: ReadKey, kind: Annotated[Literal["problem", "praise", "mention"] | None, Query()] = None,
             limit: Limit = 100, offset: Offset = 0) -> TeamFeedOut:
    """A team's feed, newest first: the answers whose themes the team owns (``via=theme``) and the answers of the
    customers it handled (its name in the ``team`` segment, ``via=segment``); ``kind=problem`` or ``praise``
    keeps those theme kinds. A team that neither the taxonomy, an answer, an alert nor a routing rule names is a
    404 naming the known teams."""
    taxonomy = model.pipeline.taxonomy
    teams = {t.team for t in taxonomy.themes if t.team}
    if not routing.team_exists(session, name, teams):
        raise ApiError(404, f"unknown team {short(name)}; known teams: {', '.join(routing.known_teams(session, sorted(teams)))} "
                            "(and the values of the responses' team segment)")
    return TeamFeedOut.model_validate(routing.team_feed(session, name, kind, filters, limit, offset))

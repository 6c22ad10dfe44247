"""Workspace pages (GET): sign-in, the company overview, a team's page, users (admin), preferences.

Every page reads the same filters from its URL (:func:`api.web.render.read_view`) and shows only the teams
the signed-in user may see.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from api.db.models import User
from api.deps import ModelDep, SessionDep
from api.services.queries import known_team
from api.services.team_page import team_page
from api.services.users import LANGS, ROLES, list_users
from api.services.workspace import nps_block
from api.web import panels
from api.web.auth import CurrentUser, SessionCookie, WebError, safe_next
from api.web.charts import trend_svg
from api.web.render import read_view, render

router = APIRouter(prefix="/app", include_in_schema=False)

TeamName = Annotated[str, Path(max_length=100)]


def home_of(viewer: Any) -> str:
    """Where a user lands: their team's page when they have exactly one team, else the overview."""
    if not viewer.sees_all and len(viewer.teams) == 1:
        return f"/app/teams/{viewer.teams[0]}"
    return "/app/overview"


@router.get("", response_model=None)
def home(viewer: CurrentUser) -> RedirectResponse:
    return RedirectResponse(home_of(viewer), status_code=303)


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_page(request: Request, web: SessionCookie, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", web, None, next=safe_next(next), error=None)


def _visible_teams(session: Any, viewer: Any, taxonomy_teams: set[str], request: Request) -> list[str]:
    teams = _all_teams(session, taxonomy_teams, request)
    return teams if viewer.sees_all else [t for t in teams if t in viewer.teams] or list(viewer.teams)


@router.get("/overview", response_class=HTMLResponse, response_model=None)
def overview(request: Request, session: SessionDep, model: ModelDep, web: SessionCookie, viewer: CurrentUser) -> HTMLResponse:
    """NPS and trend, action points with impact and interval, what passives say, and the teams table."""
    view = read_view(request, viewer)
    taxonomy = model.pipeline.taxonomy
    now = datetime.now(UTC)
    tax_teams = {t.team for t in taxonomy.themes if t.team}
    teams = _visible_teams(session, viewer, tax_teams, request)
    block = nps_block(session, view.filters, view.period, now, panels.days(request, session, view.filters))
    found = panels.insight_panels(request, session, view.filters, taxonomy)
    table = [row for row in panels.table(request, session, view.filters, teams, now)
             if row["n"] or row["open_alerts"] or row["team"] in tax_teams or not viewer.sees_all]
    return render(request, "overview.html", web, viewer, view=view, block=block, chart=trend_svg(block["trend"], block["period"],
                  _t(request, viewer)), points=found["points"], passives=found["passives"], table=table,
                  computed_at=found["computed_at"], options=panels.options(request, session),
                  labels=_labels(taxonomy, viewer, request), page="overview", teams=teams)


@router.get("/teams/{team}", response_class=HTMLResponse, response_model=None)
def team(team: TeamName, request: Request, session: SessionDep, model: ModelDep, web: SessionCookie,
         viewer: CurrentUser) -> HTMLResponse:
    """A team's page: NPS, trend, problems and praise, alerts to work, action items."""
    taxonomy = model.pipeline.taxonomy
    tax_teams = {t.team for t in taxonomy.themes if t.team}
    if not viewer.can_see_team(team):
        raise WebError(404, "no such team, or not one of yours")
    if not (known_team(session, team, tax_teams) or team in _all_teams(session, tax_teams, request)):
        raise WebError(404, "no such team, or not one of yours")
    view = read_view(request, viewer)
    now = datetime.now(UTC)
    scoped = dataclasses.replace(view.filters, scope=(team,))
    data = team_page(session, team, view.filters, viewer, view.period, now, days=panels.days(request, session, scoped),
                     table=panels.table(request, session, view.filters, [team], now)[0],
                     feeds=panels.feeds(request, session, team, view.filters))
    themes = [t for t in taxonomy.themes if t.team == team] or list(taxonomy.themes)
    return render(request, "team.html", web, viewer, view=view, data=data, block=data["nps"],
                  chart=trend_svg(data["nps"]["trend"], data["nps"]["period"], _t(request, viewer)),
                  options=panels.options(request, session), labels=_labels(taxonomy, viewer, request), page="team",
                  themes=[(t.id, t.label(_t(request, viewer).lang)) for t in themes],
                  teams=_visible_teams(session, viewer, tax_teams, request), now=now,
                  can_manage=viewer.can_manage_items(team), here=request.url.path + view.query())


@router.get("/admin/users", response_class=HTMLResponse, response_model=None)
def users_page(request: Request, session: SessionDep, model: ModelDep, web: SessionCookie, viewer: CurrentUser,
               error: str | None = None) -> HTMLResponse:
    if viewer.role != "admin":
        raise WebError(403, "only admins manage users")
    tax_teams = {t.team for t in model.pipeline.taxonomy.themes if t.team}
    return render(request, "users.html", web, viewer, users=list_users(session), roles=ROLES, langs=LANGS,
                  all_teams=_all_teams(session, tax_teams, request), page="users", error=error)


@router.get("/me", response_class=HTMLResponse, response_model=None)
def me_page(request: Request, session: SessionDep, web: SessionCookie, viewer: CurrentUser) -> HTMLResponse:
    user = session.scalar(select(User).where(User.id == viewer.id))
    return render(request, "me.html", web, viewer, user=user, langs=LANGS, page="me", error=None, saved=False)


def _all_teams(session: Any, taxonomy_teams: set[str], request: Request) -> list[str]:
    return panels.all_teams(request, session, taxonomy_teams)


def _t(request: Request, viewer: Any) -> Any:
    from api.web.render import lang_for

    return lang_for(request, viewer)


def _labels(taxonomy: Any, viewer: Any, request: Request) -> dict[str, str]:
    lang = _t(request, viewer).lang
    return {t.id: t.label(lang) for t in taxonomy.themes}


__all__ = ["home_of", "router"]

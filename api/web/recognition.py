"""Recognition and reports in the workspace: the team leaderboard (from :mod:`api.services.leaderboard`) and the
daily, weekly and monthly digests (from :mod:`api.services.reports`), with the page's segment filters.

A team lead or agent sees their own teams' rows of the leaderboard with their rank among all teams, never
another team's figures; digests exist for the teams the user may see (the company digest for admins and
analysts)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from api.deps import ModelDep, SessionDep
from api.services.leaderboard import Window, leaderboard
from api.services.reports import build_digest, html_document
from api.web import panels
from api.web.auth import CurrentUser, SessionCookie, WebError
from api.web.render import SECURITY_HEADERS, read_view, render

router = APIRouter(prefix="/app", include_in_schema=False)

PERIODS = ("week", "month", "quarter")
RANK_BY = ("followup", "improvement", "praise")
DIGESTS = ("day", "week", "month")
# a digest is a self-contained document: its chart is a data URL and its styles are inline
DIGEST_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                                                                 "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}


def _segments(view: Any) -> Any:
    return dataclasses.replace(view.filters, since=None, until=None, team=None, scope=None)


@router.get("/leaderboard", response_class=HTMLResponse, response_model=None)
def leaderboard_page(request: Request, session: SessionDep, web: SessionCookie, viewer: CurrentUser, over: str = "month",
                     rank_by: str = "followup") -> HTMLResponse:
    """Teams ranked on what they control in the last complete period: follow-up within 48 hours, NPS change
    with its interval, praise; with badges."""
    if over not in PERIODS or rank_by not in RANK_BY:
        raise WebError(400, "over is week, month or quarter; rank_by is followup, improvement or praise")
    view = read_view(request, viewer)
    now = datetime.now(UTC)
    window = Window.last_complete(over, now, viewer.timezone)  # type: ignore[arg-type]
    counts = panels.leaderboard_counts(request, session, window, _segments(view))
    board = leaderboard(session, over, tz=viewer.timezone, rank_by=rank_by, filters=_segments(view), now=now,  # type: ignore[arg-type]
                        counts=counts)
    total = len(board["teams"])
    rows = board["teams"] if viewer.sees_all else [r for r in board["teams"] if r["team"] in viewer.teams]
    return render(request, "leaderboard.html", web, viewer, view=view, board=board, rows=rows, total=total, period=over,
                  rank_by=rank_by, page="leaderboard", options={}, teams=None)


@router.get("/reports/{scope}", response_class=HTMLResponse, response_model=None)
def digest_page(scope: Annotated[str, Path(max_length=100)], request: Request, session: SessionDep, model: ModelDep,
                viewer: CurrentUser, period: str = "week") -> HTMLResponse:
    """The digest of the last complete day, week or month for a team (or ``company``), as sent by e-mail."""
    if period not in DIGESTS:
        raise WebError(400, "period is day, week or month")
    team = None if scope == "company" else scope
    if (team is None and not viewer.sees_all) or (team is not None and not viewer.can_see_team(team)):
        raise WebError(404, "no such report, or not one of yours")
    view = read_view(request, viewer)
    digest = build_digest(session, period, team, tz=viewer.timezone, taxonomy=model.pipeline.taxonomy,  # type: ignore[arg-type]
                          filters=_segments(view))
    return HTMLResponse(html_document(digest), headers=DIGEST_HEADERS)


__all__ = ["router"]

"""The leaderboard, report digests (JSON, HTML, PDF), e-mail subscriptions and the digest schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import ModelDep, ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Name
from api.schemas.common import Timestamp
from api.schemas.reports import DigestOut, DigestPeriod, LeaderboardOut, LeaderboardPeriod
from api.services.leaderboard import BadgeRules, RankBy, leaderboard
from api.services.reports import build_digest, html_document, pdf_document
from nps_nlp.errors import MissingDependencyError

router = APIRouter(prefix="/v1", tags=["reports"])

Tz = Annotated[str, Query(max_length=64, description="IANA time zone the periods are cut in, e.g. Europe/Oslo")]


def _checked(call, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run ``call``, turning its ``ValueError`` (an unknown time zone or period) into a 422."""
    try:
        return call(*args, **kwargs)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None


@router.get("/leaderboard", response_model=LeaderboardOut, responses=ERRORS)
def get_leaderboard(session: SessionDep, filters: FiltersDep, _: ReadKey, period: LeaderboardPeriod = "month",
                    at: Annotated[Timestamp | None, Query(description="a time inside the period to rank (default: the "
                                                                           "last complete period)")] = None,
                    tz: Tz = "UTC", rank_by: RankBy = "followup",
                    followup_hours: Annotated[float, Query(gt=0, le=24 * 90)] = 48.0,
                    min_alerts: Annotated[int, Query(ge=1, le=10_000)] = 5,
                    followup_target: Annotated[float, Query(ge=0, le=1)] = 0.8,
                    min_praise: Annotated[int, Query(ge=1, le=1_000_000)] = 10,
                    min_n: Annotated[int, Query(ge=1, le=1_000_000)] = 30) -> LeaderboardOut:
    """Teams ranked on what they control: the share of detractors contacted within ``followup_hours`` (from the
    alerts' history), their NPS change against the period before with its interval, and praise received.
    Badges (most improved, fastest follow-up, most praised) go only to a significant rise or to counts above
    the minimums, so a team is recognised for improving, not for easy customers. The segment filters apply;
    ``since``, ``until`` and ``team`` are replaced by the period and the ranking of every team."""
    rules = BadgeRules(followup_hours, min_alerts, followup_target, min_praise, min_n)
    board = _checked(leaderboard, session, period, at=at, tz=tz, rank_by=rank_by, rules=rules, filters=filters)
    return LeaderboardOut.model_validate(board)


At = Annotated[Timestamp | None, Query(description="a time inside the period to report (default: the latest complete one)")]


def _digest(session: SessionDep, model: ModelDep, filters: FiltersDep, period: DigestPeriod, team: str | None,
            at: datetime | None, tz: str) -> dict[str, Any]:
    return _checked(build_digest, session, period, team, at=at, tz=tz, taxonomy=model.pipeline.taxonomy, filters=filters)


@router.get("/reports/digest", response_model=DigestOut, responses=ERRORS)
def get_digest(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: DigestPeriod = "week",
               team: Name = None, at: At = None, tz: Tz = "UTC") -> DigestOut:
    """The digest of a day, week or month for ``team`` (left out: the company): NPS with its interval and its change
    against the period before (with significance), the trend of the last periods, top action points, new praise
    and the alerts overdue now. The segment filters apply; the period replaces ``since`` and ``until``."""
    return DigestOut.model_validate(_digest(session, model, filters, period, team, at, tz))


@router.get("/reports/digest/html", response_model=None, response_class=HTMLResponse,
            responses={**ERRORS, 200: {"content": {"text/html": {}}, "description": "the digest page, chart inline"}})
def get_digest_html(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: DigestPeriod = "week",
                    team: Name = None, at: At = None, tz: Tz = "UTC") -> HTMLResponse:
    """The digest as one self-contained HTML page (the chart is an inline PNG), as e-mailed."""
    return HTMLResponse(html_document(_digest(session, model, filters, period, team, at, tz)))


@router.get("/reports/digest/pdf", response_model=None, response_class=Response,
            responses={**ERRORS, 200: {"content": {"application/pdf": {}}, "description": "the digest as a PDF"},
                       501: {"description": "the pdf extra (WeasyPrint) is not installed"}})
def get_digest_pdf(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: DigestPeriod = "week",
                   team: Name = None, at: At = None, tz: Tz = "UTC") -> Response:
    """The digest as a PDF (needs the ``pdf`` extra)."""
    digest = _digest(session, model, filters, period, team, at, tz)
    try:
        pdf = pdf_document(digest)
    except MissingDependencyError as exc:
        raise ApiError(501, str(exc)) from None
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in f"{digest['team'] or 'company'}_{digest['label']}")
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})

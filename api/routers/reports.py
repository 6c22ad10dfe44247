"""The leaderboard, report digests (JSON, HTML, PDF), e-mail subscriptions and the digest schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from api.db.models import DigestSent, ReportSubscription
from api.deps import AdminKey, ModelDep, ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Limit, Name, RowId
from api.schemas.common import Timestamp
from api.schemas.reports import (
    DigestOut,
    DigestPeriod,
    DigestSentOut,
    LeaderboardOut,
    LeaderboardPeriod,
    Locale,
    RunOut,
    SubscriptionIn,
    SubscriptionOut,
)
from api.services.exports import safe_name
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


LocaleQuery = Annotated[Locale, Query(description="the digest's language: en, nl or nb")]


@router.get("/reports/digest/html", response_model=None, response_class=HTMLResponse,
            responses={**ERRORS, 200: {"content": {"text/html": {}}, "description": "the digest page, chart inline"}})
def get_digest_html(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: DigestPeriod = "week",
                    team: Name = None, at: At = None, tz: Tz = "UTC", locale: LocaleQuery = "en") -> HTMLResponse:
    """The digest as one self-contained HTML page (the chart is an inline PNG), as e-mailed, in ``locale``."""
    return HTMLResponse(html_document(_digest(session, model, filters, period, team, at, tz), locale))


@router.get("/reports/digest/pdf", response_model=None, response_class=Response,
            responses={**ERRORS, 200: {"content": {"application/pdf": {}}, "description": "the digest as a PDF"},
                       501: {"description": "the pdf extra (WeasyPrint) is not installed"}})
def get_digest_pdf(session: SessionDep, model: ModelDep, filters: FiltersDep, _: ReadKey, period: DigestPeriod = "week",
                   team: Name = None, at: At = None, tz: Tz = "UTC", locale: LocaleQuery = "en") -> Response:
    """The digest as a PDF in ``locale`` (needs the ``pdf`` extra)."""
    digest = _digest(session, model, filters, period, team, at, tz)
    try:
        pdf = pdf_document(digest, locale)
    except MissingDependencyError as exc:
        raise ApiError(501, str(exc)) from None
    name = safe_name(f"{digest['team'] or 'company'}_{digest['label']}")
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})


def _subscription_out(row: ReportSubscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(row, from_attributes=True)


@router.get("/reports/subscriptions", response_model=list[SubscriptionOut], responses=ERRORS)
def list_subscriptions(session: SessionDep, _: AdminKey, team: Name = None) -> list[SubscriptionOut]:
    """Who gets which digest (``team`` null: the company's)."""
    query = select(ReportSubscription).order_by(ReportSubscription.id)
    if team is not None:
        query = query.where(ReportSubscription.team == team)
    return [_subscription_out(r) for r in session.scalars(query)]


@router.post("/reports/subscriptions", response_model=SubscriptionOut, status_code=201,
             responses={**ERRORS, 409: {"description": "this address already gets this digest"}})
def create_subscription(body: SubscriptionIn, session: SessionDep, request: Request, caller: AdminKey) -> SubscriptionOut:
    """E-mail the ``period`` digest of ``team`` (left out: the company) to ``email``. With SMTP set up, the latest
    due digest goes out at once, then each new one when it falls due (see docs/reports.md)."""
    team_match = ReportSubscription.team.is_(None) if body.team is None else ReportSubscription.team == body.team
    same = session.scalar(select(ReportSubscription.id).where(func.lower(ReportSubscription.email) == body.email.lower(),
                                                              ReportSubscription.period == body.period, team_match))
    if same is not None:
        raise ApiError(409, f"subscription {same} already sends this digest to this address")
    row = ReportSubscription(email=body.email, period=body.period, team=body.team, locale=body.locale,
                             created_at=datetime.now(UTC), created_by=caller.name)
    session.add(row)
    session.flush()
    out = _subscription_out(row)
    scheduler = getattr(request.app.state, "digests", None)
    if scheduler is not None:
        session.commit()  # the scheduler reads it from its own session
        scheduler.wake()
    return out


@router.delete("/reports/subscriptions/{subscription_id}", response_model=SubscriptionOut,
               responses={**ERRORS, 404: {"description": "unknown subscription"}})
def delete_subscription(subscription_id: RowId, session: SessionDep, _: AdminKey) -> SubscriptionOut:
    """Stop a subscription (what was sent stays in ``/v1/reports/sent``); returns what was removed."""
    row = session.get(ReportSubscription, subscription_id)
    if row is None:
        raise ApiError(404, f"no subscription {subscription_id}")
    out = _subscription_out(row)
    session.delete(row)
    return out


@router.get("/reports/sent", response_model=list[DigestSentOut], responses=ERRORS)
def list_sent(session: SessionDep, _: AdminKey, limit: Limit = 100) -> list[DigestSentOut]:
    """The digests e-mailed (or failed, or being sent), newest first."""
    rows = session.scalars(select(DigestSent).order_by(DigestSent.id.desc()).limit(limit))
    return [DigestSentOut.model_validate({"id": r.id, "subscription_id": r.subscription_id, "email": r.email,
                                         "period": r.period, "team": r.team_key or None, "period_start": r.period_start,
                                         "status": r.status, "attempts": r.attempts, "error": r.error,
                                         "sent_at": r.sent_at}) for r in rows]


@router.post("/reports/run", response_model=RunOut,
             responses={**ERRORS, 409: {"description": "no SMTP server is configured"}})
async def run_schedule(request: Request, _: AdminKey) -> RunOut:
    """Send the digests that are due now and have not gone out yet (what the schedule does by itself)."""
    scheduler = getattr(request.app.state, "digests", None)
    if scheduler is None:
        raise ApiError(409, "digests are not e-mailed: set NPS_SMTP_HOST (and NPS_SMTP_PORT, NPS_SMTP_FROM) and restart")
    result = await run_in_threadpool(scheduler.run_due)
    return RunOut(sent=result.sent, failed=result.failed, skipped=result.skipped)

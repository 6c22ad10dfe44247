"""The leaderboard, report digests (JSON, HTML, PDF), e-mail subscriptions and the digest schedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep
from api.schemas.common import Timestamp
from api.schemas.reports import LeaderboardOut, LeaderboardPeriod
from api.services.leaderboard import BadgeRules, RankBy, leaderboard

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

"""The team leaderboard: teams ranked on what they control, with badges only for what the data can carry.

Per team and period (week, month or quarter, in a time zone) it measures:

- **follow-up**: of the alerts on detractors (score 0-6) opened in the period and routed to the team, the share
  first marked ``contacted`` (or ``resolved``) within ``followup_hours`` of opening (read from the alerts'
  history), with a Wilson interval; alerts still inside their time and not yet contacted are ``pending`` and
  left out of the share;
- **NPS change**: the team's NPS in the period against the period before, with its interval and significance
  (:func:`nps_nlp.nps.nps_change`, so ``too_few``/``min_n`` apply); a team's answers are those whose ``team``
  segment is the team or that have a theme or an alert routed to it (as :func:`api.services.queries.in_teams`);
- **praise**: praise mentions routed to the team.

Badges (:class:`BadgeRules`): *most improved* goes to the largest NPS rise only when it is significant (ranked by
the interval's lower end, so a noisy small team cannot win by luck); *fastest follow-up* needs at least
``min_alerts`` judged alerts and a share of at least ``followup_target``; *most praised* at least ``min_praise``
mentions. A team is so recognised for improving and for its own follow-up, not for having easy customers.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, select, union
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, Response, ResponseTheme
from api.services.queries import Filters
from api.services.tallies import IdRange
from nps_nlp.nps import MIN_N, NpsSummary, nps_change

Period = Literal["day", "week", "month", "quarter"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "quarter")
RankBy = Literal["followup", "improvement", "praise"]
CONTACTED = ("contacted", "resolved")
"""Alert statuses that count as the customer having been followed up."""


def zone(tz: str) -> ZoneInfo:
    """The time zone named ``tz`` (an IANA name such as ``Europe/Oslo``).

    Raises:
        ValueError: an unknown name.
    """
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz[:60]!r}; use an IANA name such as Europe/Amsterdam or UTC") from None


def period_start(period: Period, day: date) -> date:
    """The first day of the day, week (Monday), month or quarter that holds ``day``."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


def next_start(period: Period, start: date) -> date:
    """The first day of the period after the one starting on ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    months = 1 if period == "month" else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def previous_start(period: Period, start: date) -> date:
    """The first day of the period before the one starting on ``start``."""
    return period_start(period, start - timedelta(days=1))


@dataclass(frozen=True)
class Window:
    """One period: its first and next-period days (local) and the same as UTC instants ``[start, end)``."""

    period: Period
    first_day: date
    next_day: date
    start: datetime
    end: datetime
    tz: str

    @classmethod
    def of(cls, period: Period, first_day: date, tz: str = "UTC") -> Window:
        local = zone(tz)
        next_day = next_start(period, first_day)

        def utc(d: date) -> datetime:
            return datetime(d.year, d.month, d.day, tzinfo=local).astimezone(UTC)

        return cls(period, first_day, next_day, utc(first_day), utc(next_day), tz)

    @classmethod
    def containing(cls, period: Period, at: datetime, tz: str = "UTC") -> Window:
        """The period that holds the instant ``at`` (read in ``tz``)."""
        return cls.of(period, period_start(period, at.astimezone(zone(tz)).date()), tz)

    @classmethod
    def last_complete(cls, period: Period, at: datetime, tz: str = "UTC") -> Window:
        """The latest period that had ended by ``at``."""
        return cls.containing(period, at, tz).previous()

    def previous(self) -> Window:
        return Window.of(self.period, previous_start(self.period, self.first_day), self.tz)

    def label(self) -> str:
        """``2026-11-30`` (day), ``week of 2026-11-23``, ``2026-11`` (month), ``2026-Q4``."""
        if self.period == "day":
            return self.first_day.isoformat()
        if self.period == "week":
            return f"week of {self.first_day.isoformat()}"
        if self.period == "month":
            return self.first_day.strftime("%Y-%m")
        return f"{self.first_day.year}-Q{(self.first_day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class BadgeRules:
    """When a badge may be given.

    Attributes:
        followup_hours: the follow-up target (hours from alert to first contact).
        min_alerts: judged detractor alerts a team needs before its follow-up share may win a badge.
        followup_target: the share contacted in time a team needs for *fastest follow-up*.
        min_praise: praise mentions a team needs for *most praised*.
        min_n: answers needed in each period before an NPS change is called significant.
    """

    followup_hours: float = 48.0
    min_alerts: int = 5
    followup_target: float = 0.8
    min_praise: int = 10
    min_n: int = MIN_N


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score interval of a share ``hits / n`` (``None`` bounds without data)."""
    if n == 0:
        return None, None
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def first_contact(events: Iterable[AlertEvent]) -> datetime | None:
    """When an alert was first marked contacted or resolved, from its history (``None`` if never)."""
    times = [e.at for e in events if e.kind == "status" and e.new in CONTACTED]
    return min(times) if times else None


def _segments(filters: Filters | None) -> Filters:
    """The filters without their window and team (the leaderboard sets the window, and ranks every team)."""
    return dataclasses.replace(filters, since=None, until=None, team=None) if filters is not None else Filters()


def team_bands(session: Session, window: Window, filters: Filters | None = None,
               ids: IdRange | None = None) -> dict[str, tuple[int, int, int]]:
    """``team -> (promoters, passives, detractors)`` of the answers in ``window`` (and in ``ids``), counted in the
    database: an answer counts once for each team whose segment it carries or that a theme or an alert of it was
    routed to (the teams of :func:`api.services.queries.in_teams`)."""
    seg = _segments(filters)
    in_window = and_(Response.timestamp >= window.start, Response.timestamp < window.end, *(ids.where() if ids is not None else ()))
    routed = union(  # UNION (not UNION ALL): one row per team and answer
        seg.apply(select(Response.team.label("team"), Response.id.label("rid"), Response.score.label("score"))
                  .where(in_window, Response.team.is_not(None))),
        seg.apply(select(ResponseTheme.team, Response.id, Response.score).join(Response).where(in_window)),
        seg.apply(select(Alert.team, Response.id, Response.score).join(Response, Alert.response_id == Response.id)
                  .where(in_window, Alert.team.is_not(None))),
    ).subquery()
    score = routed.c.score
    query = select(routed.c.team, func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score.between(7, 8), 1), else_=0)),
                   func.sum(case((score <= 6, 1), else_=0))).group_by(routed.c.team)
    return {team: (int(p), int(n), int(d)) for team, p, n, d in session.execute(query)}


def praise_counts(session: Session, window: Window, filters: Filters | None = None, ids: IdRange | None = None) -> dict[str, int]:
    """Praise mentions per routed team for answers in ``window`` (and in ``ids``); the window's answers are listed
    first (by time), so only their theme rows are read."""
    answers = _segments(filters).apply(select(Response.id).where(Response.timestamp >= window.start, Response.timestamp < window.end,
                                                                 *(ids.where() if ids is not None else ())))
    query = (select(ResponseTheme.team, func.count()).where(ResponseTheme.kind == "praise", ResponseTheme.response_id.in_(answers))
             .group_by(ResponseTheme.team))
    return {team: n for team, n in session.execute(query)}


@dataclass(frozen=True)
class WindowCounts:
    """The answers' part of a leaderboard: per team its bands and praise in a period and in the one before; a
    tally (:mod:`api.services.tallies`): the counts of two ranges of answers add up."""

    bands: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    bands_before: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    praise: Mapping[str, int] = field(default_factory=dict)
    praise_before: Mapping[str, int] = field(default_factory=dict)

    def merge(self, other: WindowCounts) -> WindowCounts:
        """The counts of both ranges of answers."""
        return WindowCounts(_add_bands(self.bands, other.bands), _add_bands(self.bands_before, other.bands_before),
                            _add_counts(self.praise, other.praise), _add_counts(self.praise_before, other.praise_before))


def _add_bands(a: Mapping[str, tuple[int, int, int]], b: Mapping[str, tuple[int, int, int]]) -> dict[str, tuple[int, int, int]]:
    out = dict(a)
    for team, (p, n, d) in b.items():
        old = out.get(team, (0, 0, 0))
        out[team] = (old[0] + p, old[1] + n, old[2] + d)
    return out


def _add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {team: a.get(team, 0) + b.get(team, 0) for team in set(a) | set(b)}


def window_counts(session: Session, window: Window, filters: Filters | None = None, ids: IdRange | None = None) -> WindowCounts:
    """The :class:`WindowCounts` of ``window`` and the period before it, over the answers in ``ids``."""
    before = window.previous()
    return WindowCounts(team_bands(session, window, filters, ids), team_bands(session, before, filters, ids),
                        praise_counts(session, window, filters, ids), praise_counts(session, before, filters, ids))


def followup(session: Session, window: Window, rules: BadgeRules, now: datetime,
             filters: Filters | None = None) -> dict[str, dict[str, Any]]:
    """Per team: detractor alerts opened in ``window``, how many were contacted within the target, how many are
    still pending, the share with its Wilson interval and the median hours to first contact."""
    query = _segments(filters).apply(
        select(Alert.id, Alert.team, Alert.created_at).join(Response, Alert.response_id == Response.id)
        .where(Alert.created_at >= window.start, Alert.created_at < window.end, Response.score <= 6))
    alerts = session.execute(query).all()
    contacts: dict[int, datetime] = {}
    ids = [a[0] for a in alerts]
    for i in range(0, len(ids), 500):
        contacts.update((alert_id, at) for alert_id, at in session.execute(
            select(AlertEvent.alert_id, func.min(AlertEvent.at))
            .where(AlertEvent.alert_id.in_(ids[i:i + 500]), AlertEvent.kind == "status", AlertEvent.new.in_(CONTACTED))
            .group_by(AlertEvent.alert_id)).all())
    target = timedelta(hours=rules.followup_hours)
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {"alerts": 0, "in_time": 0, "late": 0, "pending": 0, "hours": []})
    for alert_id, team, created in alerts:
        row = acc[team or "unassigned"]
        row["alerts"] += 1
        contact = contacts.get(alert_id)
        if contact is not None and contact > now:
            contact = None  # judged as it stood at `now`
        if contact is not None:
            row["hours"].append((contact - created).total_seconds() / 3600)
        if contact is not None and contact - created <= target:
            row["in_time"] += 1
        elif created + target > now:
            row["pending"] += 1  # not contacted yet, still inside its time: not judged
        else:
            row["late"] += 1
    out = {}
    for team, row in acc.items():
        judged = row["in_time"] + row["late"]
        low, high = wilson(row["in_time"], judged)
        out[team] = {"alerts": row["alerts"], "judged": judged, "in_time": row["in_time"], "pending": row["pending"],
                     "share": round(row["in_time"] / judged, 4) if judged else None, "ci_low": low, "ci_high": high,
                     "median_hours": round(statistics.median(row["hours"]), 2) if row["hours"] else None}
    return out


def _empty_followup() -> dict[str, Any]:
    return {"alerts": 0, "judged": 0, "in_time": 0, "pending": 0, "share": None, "ci_low": None, "ci_high": None,
            "median_hours": None}


def _rank_key(rank_by: RankBy, row: dict[str, Any]) -> tuple[Any, ...]:
    if rank_by == "followup":
        f = row["followup"]
        return (f["share"] is None, -(f["ci_low"] or 0), -(f["share"] or 0), row["team"])
    if rank_by == "improvement":
        change = row["change"]
        low = change["ci_low"] if change["ci_low"] is not None else -math.inf
        return (change["too_few"], -low, row["team"])
    return (-row["praise"], row["team"])


def _award(rows: list[dict[str, Any]], badge: str, eligible: list[dict[str, Any]], value: Any, reason: Any) -> None:
    """Give ``badge`` to the eligible rows with the best ``value`` (ties share it)."""
    if not eligible:
        return
    best = max(value(r) for r in eligible)
    for row in eligible:
        if value(row) == best:
            row["badges"].append({"badge": badge, "reason": reason(row)})


def award_badges(rows: list[dict[str, Any]], rules: BadgeRules) -> None:
    """Add ``most_improved``, ``fastest_follow_up`` and ``most_praised`` to the rows that earn them (see the
    module docstring); a badge nobody qualifies for is given to nobody."""
    improved = [r for r in rows if r["change"]["significant"] and (r["change"]["delta"] or 0) > 0]
    _award(rows, "most_improved", improved, lambda r: r["change"]["ci_low"],
           lambda r: (f"NPS up {r['change']['delta']:.1f} points (95% interval {r['change']['ci_low']:.1f} to "
                      f"{r['change']['ci_high']:.1f}), a significant rise"))
    fast = [r for r in rows if r["followup"]["judged"] >= rules.min_alerts
            and (r["followup"]["share"] or 0) >= rules.followup_target]
    _award(rows, "fastest_follow_up", fast,
           lambda r: (r["followup"]["share"], -(r["followup"]["median_hours"] or 0)),
           lambda r: (f"{r['followup']['in_time']} of {r['followup']['judged']} detractors contacted within "
                      f"{rules.followup_hours:g} hours"))
    praised = [r for r in rows if r["praise"] >= rules.min_praise]
    _award(rows, "most_praised", praised, lambda r: r["praise"], lambda r: f"{r['praise']} praise mentions")


def leaderboard(session: Session, period: Period = "month", at: datetime | None = None, tz: str = "UTC",
                rank_by: RankBy = "followup", rules: BadgeRules | None = None, filters: Filters | None = None,
                now: datetime | None = None, counts: WindowCounts | None = None) -> dict[str, Any]:
    """Rank every team for one period and award badges.

    Args:
        session: a database session.
        period: ``week``, ``month`` or ``quarter`` (``day`` works too).
        at: an instant inside the period to rank (default: the last complete period before ``now``).
        tz: the time zone periods are cut in.
        rank_by: ``followup`` (lower end of the interval of the share contacted in time), ``improvement`` (lower end of the NPS change's
            interval) or ``praise``; teams without data for it come last.
        rules: badge thresholds.
        filters: segment filters (channel, country, ...); the window and team are the leaderboard's own.
        now: the time follow-up is judged at (default: now).
        counts: the answers' counts of the period and the one before (:func:`window_counts`), when known.

    Returns:
        ``period``, ``label``, ``start``, ``end``, ``complete``, ``rank_by``, ``rules`` and ``teams`` (ranked rows:
        ``team``, ``rank``, ``nps`` and ``previous`` summaries, ``change``, ``followup``, ``praise``,
        ``praise_previous``, ``badges``).

    Raises:
        ValueError: an unknown period or time zone.
    """
    rules = rules or BadgeRules()
    now = now or datetime.now(UTC)
    window = Window.containing(period, at, tz) if at is not None else Window.last_complete(period, now, tz)
    counts = window_counts(session, window, filters) if counts is None else counts
    bands, bands_before, praise, praise_before = counts.bands, counts.bands_before, counts.praise, counts.praise_before
    follow = followup(session, window, rules, now, filters)
    rows = []
    for team in sorted(set(bands) | set(praise) | set(follow)):
        current = NpsSummary.from_counts(*bands.get(team, (0, 0, 0)), min_n=rules.min_n)
        previous = NpsSummary.from_counts(*bands_before.get(team, (0, 0, 0)), min_n=rules.min_n)
        rows.append({"team": team, "nps": current.to_dict(), "previous": previous.to_dict(),
                     "change": nps_change(current, previous, min_n=rules.min_n).to_dict(),
                     "followup": follow.get(team, _empty_followup()), "praise": praise.get(team, 0),
                     "praise_previous": praise_before.get(team, 0), "badges": []})
    rows.sort(key=lambda r: _rank_key(rank_by, r))
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    award_badges(rows, rules)
    return {"period": period, "label": window.label(), "start": window.start, "end": window.end, "tz": tz,
            "complete": window.end <= now, "rank_by": rank_by, "rules": dataclasses.asdict(rules), "teams": rows}


__all__ = ["PERIODS", "BadgeRules", "Window", "WindowCounts", "award_badges", "first_contact", "followup", "leaderboard",
           "period_start", "praise_counts", "team_bands", "wilson", "window_counts", "zone"]

"""Read side of the team workspace: NPS with its trend in the user's time zone, action points and what
passives say, the teams table (:mod:`api.services.team_stats`), the filter options, and the versions of the data
they read. All figures come from ``nps_nlp``; every function takes the same :class:`Filters`. The answers' part
of each figure is a tally (:mod:`api.services.tallies`) that new answers are added to.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, Response, ResponseTheme, UserTeam
from api.services.queries import Filters
from api.services.tallies import IdRange, KeyLocks, within
from api.services.team_stats import membership
from api.services.theme_counts import ThemeTally, band_sums, quotes, theme_tally
from nps_nlp.action_points import drivers_from_counts, points_from_counts
from nps_nlp.nps import NpsSummary, nps_change


def period_end(period: str, start: date) -> date:
    """The first day after the day, week or month that starts on ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def choose_period(filters: Filters, first: datetime | None, last: datetime | None) -> str:
    """``day`` for up to two months of data, ``week`` up to half a year, else ``month``."""
    start, end = filters.bounds()
    start = start or first
    end = end or last
    if start is None or end is None:
        return "month"
    days = (end - start).days
    return "day" if days <= 62 else "week" if days <= 190 else "month"


def _hour(column: Any, dialect: str) -> Any:
    """The UTC hour of a timestamp as ``YYYY-MM-DD HH`` text, in the database (SQLite stores a timestamp as
    ``YYYY-MM-DD HH:MM:SS.ffffff`` text, so its first 13 characters are the hour)."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.substr(column, 1, 13)


def _parse_hour(text: str) -> datetime:
    return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), tzinfo=UTC)


def hourly_counts(session: Session, filters: Filters, ids: IdRange | None = None) -> list[tuple[datetime, int, int, int]]:
    """Promoters, passives and detractors per UTC hour within ``filters`` (and ``ids``), counted by the database
    (an hour maps to exactly one local day, week or month in every time zone with whole-hour offsets)."""
    hour = _hour(Response.timestamp, session.get_bind().dialect.name)
    query = select(hour, *band_sums(Response.score)).select_from(Response)
    plain = dataclasses.replace(filters, scope=None)
    if filters.scope is not None and not (ids is not None and ids.is_delta) and plain.apply(query).whereclause is None:
        # all the teams' answers joined by id: cheaper than testing every answer's membership (with other filters,
        # testing the few answers they select is cheaper)
        members = select(membership(list(filters.scope)).c.rid).distinct().subquery()
        query = within(plain, query.join(members, members.c.rid == Response.id), ids)
    else:
        query = within(filters, query, ids)
    return [(_parse_hour(h), int(p or 0), int(pa or 0), int(d or 0)) for h, p, pa, d in session.execute(query.group_by(hour)) if h]


@dataclass(frozen=True)
class DayTally:
    """Promoters, passives and detractors per local day of a view's time zone, and the first and last UTC hour
    with answers: what :func:`nps_block` needs, a tally (:mod:`api.services.tallies`)."""

    days: Mapping[date, tuple[int, int, int]] = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None

    def merge(self, other: DayTally) -> DayTally:
        """The tally of both ranges of answers."""
        days = dict(self.days)
        for day, (p, pa, d) in other.days.items():
            old = days.get(day, (0, 0, 0))
            days[day] = (old[0] + p, old[1] + pa, old[2] + d)
        firsts = [t for t in (self.first, other.first) if t is not None]
        lasts = [t for t in (self.last, other.last) if t is not None]
        return DayTally(days, min(firsts, default=None), max(lasts, default=None))


def day_tally(session: Session, filters: Filters, ids: IdRange | None = None) -> DayTally:
    """The :class:`DayTally` of the answers in ``ids`` within ``filters`` (days in ``filters.tz``)."""
    hours = hourly_counts(session, filters, ids)
    if not hours:
        return DayTally()
    zone = ZoneInfo(filters.tz)
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for when, pro, pas, det in hours:
        counts = days[when.astimezone(zone).date()]
        counts[0] += pro
        counts[1] += pas
        counts[2] += det
    return DayTally({d: (c[0], c[1], c[2]) for d, c in days.items()}, min(h[0] for h in hours), max(h[0] for h in hours))


def period_start(period: str, day: date) -> date:
    """The first day of the day, week (Monday) or month that holds ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def nps_block(session: Session, filters: Filters, period: str | None, now: datetime | None = None,
              days: DayTally | None = None) -> dict[str, Any]:
    """NPS with its interval and the trend per day/week/month of the user's time zone (``filters.tz``), each
    period with its change against the one before (``nps_nlp.nps``); a period the filter's window or today cuts
    short is ``incomplete``. The database counts the bands per hour (:func:`day_tally`, or ``days`` when given),
    so no answer is read one by one."""
    now = now or datetime.now(UTC)
    days = day_tally(session, filters) if days is None else days
    if period is None:
        period = choose_period(filters, days.first, days.last)
    if not days.days:
        return {"period": period, "overall": None, "trend": [], "change": None}
    zone = ZoneInfo(filters.tz)
    buckets: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, (pro, pas, det) in days.days.items():
        counts = buckets[period_start(period, day)]
        counts[0] += pro
        counts[1] += pas
        counts[2] += det
    start, end = filters.bounds()
    lo = start.astimezone(zone).date() if start else None
    hi = (min(end, now) if end else now).astimezone(zone)
    trend: list[dict[str, Any]] = []
    previous: NpsSummary | None = None
    for first in sorted(buckets):
        summary = NpsSummary.from_counts(*buckets[first])
        after = period_end(period, first)
        trend.append({"period": first.isoformat(), **summary.to_dict(),
                      "change": nps_change(summary, previous).to_dict() if previous is not None else None,
                      "incomplete": datetime.combine(after, datetime.min.time(), zone) > hi or (lo is not None and lo > first),
                      "end": (after - timedelta(days=1)).isoformat()})
        previous = summary
    totals = [sum(b[i] for b in buckets.values()) for i in range(3)]
    change = trend[-1]["change"] if len(trend) >= 2 else None
    return {"period": period, "overall": NpsSummary.from_counts(*totals).to_dict(), "trend": trend, "change": change}


def insights(session: Session, filters: Filters, taxonomy: Any, n_points: int = 8, n_drivers: int = 6,
             n_quotes: int = 2, tally: ThemeTally | None = None) -> dict[str, Any]:
    """Action points (impact with its interval) and what passives say within ``filters``, with the time they
    were computed: from the database's per-theme counts (:func:`api.services.theme_counts.theme_tally`, or
    ``tally`` when given), quotes read for the themes shown. The action points carry no trend (the page shows
    none)."""
    computed_at = datetime.now(UTC)
    tally = theme_tally(session, filters) if tally is None else tally
    counts = tally.counts()
    points = points_from_counts(counts, tally.totals, taxonomy, min_count=3, period_totals=None)[:n_points]
    drivers = drivers_from_counts(counts, tally.totals, taxonomy, min_count=2)[:n_drivers]
    found = quotes(session, filters, tally, [p.theme for p in points], n_quotes)
    for point in points:
        point.quotes = found[point.theme]
    found = quotes(session, filters, tally, [d.theme for d in drivers], n_quotes, passives=True)
    for driver in drivers:
        driver.quotes = found[driver.theme]
    return {"computed_at": computed_at, "points": [p.to_dict() for p in points],
            "passives": {"passives": tally.totals[1], "items": [d.to_dict() for d in drivers]}}


def alerts_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever an alert is opened or changed (index look-ups and a scan of the alerts' update times)."""
    return (session.scalar(select(func.max(Alert.id))), session.scalar(select(func.max(Alert.updated_at))),
            session.scalar(select(func.max(AlertEvent.id))))


class PanelCache:
    """Recently computed panels (``size``), keyed by what they depend on (the filters, the period and the
    versions of the data they read): the same view is not computed again until its data changes. A panel is
    computed by one thread at a time (:class:`api.services.tallies.KeyLocks`)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.computing = KeyLocks()

    def _cached(self, key: Any) -> tuple[bool, Any]:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return True, self.items[key]
        return False, None

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        found, value = self._cached(key)
        if found:
            return value
        with self.computing(key):
            found, value = self._cached(key)
            if found:
                return value
            value = compute()
            with self.lock:
                self.items[key] = value
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
        return value


SEGMENT_OPTIONS = ("channel", "country", "department", "touchpoint", "team", "lang")
"""The segments a workspace filter offers the stored values of."""


@dataclass(frozen=True)
class ValueTally:
    """The distinct values the stored answers carry per segment (:data:`SEGMENT_OPTIONS`), and the teams their
    themes (``theme_team``) and alerts (``alert_team``) were routed to: a tally (:mod:`api.services.tallies`)."""

    values: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def merge(self, other: ValueTally) -> ValueTally:
        """The values of both ranges of answers."""
        names = set(self.values) | set(other.values)
        return ValueTally({n: self.values.get(n, frozenset()) | other.values.get(n, frozenset()) for n in names})


def value_tally(session: Session, ids: IdRange | None = None) -> ValueTally:
    """The :class:`ValueTally` of the answers in ``ids``: all of them from each column's index, new ones read.

    Counted from scratch, the values are read from the columns' indexes alone, without the upper bound of ``ids``
    (testing it would read every row): an answer stored meanwhile may bring its values early, which is harmless,
    since the next delta adds the same values to a set."""
    if ids is not None and ids.is_delta:
        return _new_values(session, ids)
    columns = {name: getattr(Response, name) for name in SEGMENT_OPTIONS}
    columns.update(theme_team=ResponseTheme.team, alert_team=Alert.team)
    out: dict[str, frozenset[str]] = {}
    for name, column in columns.items():
        out[name] = frozenset(v for (v,) in session.execute(select(column).distinct().where(column.is_not(None))) if v)
    return ValueTally(out)


def _new_values(session: Session, ids: IdRange) -> ValueTally:
    found: dict[str, set[str]] = {name: set() for name in (*SEGMENT_OPTIONS, "theme_team", "alert_team")}
    for row in session.execute(select(*(getattr(Response, name) for name in SEGMENT_OPTIONS)).where(*ids.where())):
        for name, value in zip(SEGMENT_OPTIONS, row, strict=True):
            if value:
                found[name].add(value)
    for name, team, rid in (("theme_team", ResponseTheme.team, ResponseTheme.response_id), ("alert_team", Alert.team, Alert.response_id)):
        found[name].update(v for (v,) in session.execute(select(team).where(*ids.where(rid))) if v)
    return ValueTally({name: frozenset(values) for name, values in found.items()})


def known_teams(session: Session, taxonomy_teams: set[str], values: ValueTally | None = None) -> list[str]:
    """Every team: the taxonomy's, those answers, themes or alerts were routed to (``values``, else read), and
    those users belong to."""
    values = value_tally(session) if values is None else values
    found = set(taxonomy_teams)
    for name in ("theme_team", "team", "alert_team"):
        found.update(values.values.get(name, ()))
    found.update(t for (t,) in session.execute(select(UserTeam.team).distinct()) if t)
    found.discard("unassigned")
    return sorted(found)


def filter_options(session: Session, values: ValueTally | None = None) -> dict[str, list[str]]:
    """The values each segment filter can take (what the stored answers carry: ``values``, else read)."""
    values = value_tally(session) if values is None else values
    return {name: sorted(values.values.get(name, ())) for name in SEGMENT_OPTIONS}


__all__ = ["SEGMENT_OPTIONS", "DayTally", "PanelCache", "ValueTally", "alerts_version", "choose_period", "day_tally",
           "filter_options", "insights", "known_teams", "nps_block", "period_end", "value_tally"]

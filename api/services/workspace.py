"""Read side of the team workspace: NPS with its trend in the user's time zone, the teams table, follow-up
within 48 hours, and the contents of a team's page. All figures come from ``nps_nlp`` and
:mod:`api.services.queries`; every function takes the same :class:`Filters`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, union
from sqlalchemy.orm import Session

from api.db.models import ActionItem, Alert, AlertEvent, Response, ResponseEvent, ResponseTheme, User, UserTeam
from api.services.queries import Filters, action_item_out, team_feed
from api.services.triage import AlertQuery, list_alerts
from api.services.users import Viewer
from nps_nlp.action_points import action_points, passive_drivers
from nps_nlp.nps import NpsSummary, nps_change

log = logging.getLogger("nps_nlp.api.workspace")

FOLLOW_UP_HOURS = 48
"""Detractor follow-up target: first contact within this many hours of the alert."""

CONTACTED = ("contacted", "resolved")


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
    """The UTC hour of a timestamp as ``YYYY-MM-DD HH`` text, in the database."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def hourly_counts(session: Session, filters: Filters) -> list[tuple[datetime, int, int, int]]:
    """Promoters, passives and detractors per UTC hour within ``filters``, counted by the database (an hour maps
    to exactly one local day, week or month in every time zone with whole-hour offsets)."""
    hour = _hour(Response.timestamp, session.get_bind().dialect.name)
    query = select(hour, func.sum(case((Response.score >= 9, 1), else_=0)), func.sum(case((Response.score.between(7, 8), 1), else_=0)),
                   func.sum(case((Response.score <= 6, 1), else_=0))).select_from(Response)
    if filters.scope is not None:  # the teams' answers joined by id: cheaper than testing every answer's membership
        members = select(_membership(list(filters.scope)).c.rid).distinct().subquery()
        query = query.join(members, members.c.rid == Response.id)
        filters = dataclasses.replace(filters, scope=None)
    query = filters.apply(query).group_by(hour)
    return [(datetime.strptime(h, "%Y-%m-%d %H").replace(tzinfo=UTC), int(p or 0), int(pa or 0), int(d or 0))
            for h, p, pa, d in session.execute(query) if h]


def period_start(period: str, day: date) -> date:
    """The first day of the day, week (Monday) or month that holds ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def nps_block(session: Session, filters: Filters, period: str | None, now: datetime | None = None) -> dict[str, Any]:
    """NPS with its interval and the trend per day/week/month of the user's time zone (``filters.tz``), each
    period with its change against the one before (``nps_nlp.nps``); a period the filter's window or today cuts
    short is ``incomplete``. The database counts the bands per hour, so no answer is read one by one."""
    now = now or datetime.now(UTC)
    hours = hourly_counts(session, filters)
    if period is None:
        period = choose_period(filters, min((h[0] for h in hours), default=None), max((h[0] for h in hours), default=None))
    if not hours:
        return {"period": period, "overall": None, "trend": [], "change": None}
    zone = ZoneInfo(filters.tz)
    buckets: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for when, pro, pas, det in hours:
        counts = buckets[period_start(period, when.astimezone(zone).date())]
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


def tagged_rows(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """Responses in the shape ``nps_nlp.action_points`` takes, read from the theme table rather than each
    answer's stored analysis (the same themes and sentiments, without decoding every analysis)."""
    rows = session.execute(filters.apply(select(Response.id, Response.external_id, Response.score, Response.text, Response.lang,
                                                Response.timestamp)).order_by(Response.id)).all()
    themes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    query = filters.apply(select(ResponseTheme.response_id, ResponseTheme.theme, ResponseTheme.sentiment, ResponseTheme.confidence)
                          .join(Response, Response.id == ResponseTheme.response_id))
    for rid, theme, sentiment, confidence in session.execute(query):
        themes[rid].append({"theme": theme, "sentiment": sentiment, "confidence": confidence})
    return [{"id": ext, "score": score, "text": text, "lang": lang, "timestamp": ts, "themes": themes.get(rid, [])}
            for rid, ext, score, text, lang, ts in rows]


def insights(session: Session, filters: Filters, taxonomy: Any, period: str, n_points: int = 8,
             n_drivers: int = 6) -> dict[str, Any]:
    """Action points (impact with its interval) and what passives say, within ``filters``, with the time they
    were computed."""
    computed_at = datetime.now(UTC)
    responses = tagged_rows(session, filters)
    points = action_points(responses, taxonomy, min_count=3, n_quotes=2, period=period) if responses else []
    drivers = passive_drivers(responses, taxonomy, min_count=2, n_quotes=2) if responses else []
    return {"computed_at": computed_at, "points": [p.to_dict() for p in points[:n_points]],
            "passives": {"passives": sum(1 for r in responses if 7 <= r["score"] <= 8),
                         "items": [d.to_dict() for d in drivers[:n_drivers]]}}


def answers_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever an answer is added, removed or corrected (index look-ups only)."""
    return (session.scalar(select(func.max(Response.id))), session.scalar(select(func.count(Response.id))),
            session.scalar(select(func.max(ResponseEvent.id))))


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever answers, their corrections, alerts or action items change (index look-ups only)."""
    return (*answers_version(session), session.scalar(select(func.max(Alert.updated_at))),
            session.scalar(select(func.max(AlertEvent.id))), session.scalar(select(func.max(ActionItem.updated_at))))


class PanelCache:
    """Recently computed panels, keyed by what they depend on (the filters, the period and a data version): the
    same view is not computed again until its data changes.

    :meth:`latest` serves the last value of a view whose data changed since (marked with the time it was
    computed) and computes the new one in a background thread with its own session: for panels that take
    seconds on large data (action points and passives, which depend on the answers alone)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.latest_of: dict[Any, tuple[Any, Any]] = {}  # view -> (version, value)
        self.running: set[Any] = set()
        self.lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        self._put(key, value)
        return value

    def _put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def latest(self, view: Any, version: Any, compute: Callable[[Session], Any], session: Session, db: Any) -> Any:
        """The value of ``view`` at ``version``; when only an older one is known, that one now and the new one
        computed in the background (``db.session()`` gives it a session)."""
        with self.lock:
            known = self.latest_of.get(view)
            if known is not None and known[0] == version:
                return known[1]
            if known is not None:
                if view not in self.running:
                    self.running.add(view)
                    threading.Thread(target=self._refresh, args=(view, version, compute, db), daemon=True,
                                     name="nps-workspace-panel").start()
                return known[1]
        value = compute(session)
        with self.lock:
            self.latest_of[view] = (version, value)
        return value

    def _refresh(self, view: Any, version: Any, compute: Callable[[Session], Any], db: Any) -> None:
        try:
            with db.session() as session:
                value = compute(session)
            with self.lock:
                self.latest_of[view] = (version, value)
        except Exception as exc:  # the next view tries again; the message can quote a row, so only its type
            log.warning("workspace panel refresh failed", extra={"error": type(exc).__name__})
        finally:
            with self.lock:
                self.running.discard(view)


def _membership(teams: list[str]) -> Any:
    """(response id, team) pairs of ``teams``: a response belongs to its team segment, the teams its themes are
    routed to, and the team its alert is routed to."""
    return union(select(ResponseTheme.response_id.label("rid"), ResponseTheme.team.label("team")).where(ResponseTheme.team.in_(teams)),
                 select(Response.id.label("rid"), Response.team.label("team")).where(Response.team.in_(teams)),
                 select(Alert.response_id.label("rid"), Alert.team.label("team")).where(Alert.team.in_(teams))).subquery()


def teams_table(session: Session, filters: Filters, teams: list[str], now: datetime | None = None) -> list[dict[str, Any]]:
    """Per team in ``teams``: NPS (with interval), answers, open and overdue alerts, the share of judged alerts
    first contacted within 48 hours, problems and praise, all within ``filters``."""
    now = now or datetime.now(UTC)
    plain = dataclasses.replace(filters, scope=None)
    m = _membership(teams)
    counts = select(m.c.team, func.sum(case((Response.score >= 9, 1), else_=0)), func.sum(case((Response.score.between(7, 8), 1),
                                                                                                else_=0)),
                    func.sum(case((Response.score <= 6, 1), else_=0))).join(Response, Response.id == m.c.rid)
    counts = plain.apply(counts).group_by(m.c.team)
    out: dict[str, dict[str, Any]] = {t: {"team": t, "nps": None, "n": 0, "open_alerts": 0, "overdue_alerts": 0, "problems": 0,
                                          "praise": 0, "followup_share": None, "followup_judged": 0} for t in teams}
    for team, pro, pas, det in session.execute(counts):
        out[team]["nps"] = NpsSummary.from_counts(int(pro or 0), int(pas or 0), int(det or 0)).to_dict()
        out[team]["n"] = int((pro or 0) + (pas or 0) + (det or 0))
    kinds = plain.apply(select(ResponseTheme.team, ResponseTheme.kind, func.count()).join(Response)
                        .where(ResponseTheme.team.in_(teams), ResponseTheme.kind.in_(("problem", "praise")))
                        .group_by(ResponseTheme.team, ResponseTheme.kind))
    for team, kind, n in session.execute(kinds):
        out[team]["problems" if kind == "problem" else "praise"] = int(n)
    for row in alert_facts(session, plain, teams):
        for team in row["teams"]:
            stats = out[team]
            if row["status"] != "resolved":
                stats["open_alerts"] += 1
                stats["overdue_alerts"] += int(row["due_at"] < now)
            judged, hit = followed_up(row["created_at"], row["first_contact"], now)
            if judged:
                stats["followup_judged"] += 1
                stats.setdefault("followup_hits", 0)
                stats["followup_hits"] += int(hit)
    for stats in out.values():
        if stats["followup_judged"]:
            stats["followup_share"] = stats.pop("followup_hits", 0) / stats["followup_judged"]
    return [out[t] for t in teams]


def followed_up(created: datetime, first_contact: datetime | None, now: datetime) -> tuple[bool, bool]:
    """``(judged, within 48 h)``: an alert is judged once contacted or once its 48 hours have passed."""
    deadline = created + timedelta(hours=FOLLOW_UP_HOURS)
    hit = first_contact is not None and first_contact <= deadline
    return hit or now >= deadline, hit


def alert_facts(session: Session, filters: Filters, teams: list[str]) -> list[dict[str, Any]]:
    """Alerts of ``teams`` within ``filters``: their teams (routed team and answer's team segment), status, due
    time, creation and first contact."""
    first = (select(AlertEvent.alert_id, func.min(AlertEvent.at).label("first"))
             .where(AlertEvent.kind == "status", AlertEvent.new.in_(CONTACTED)).group_by(AlertEvent.alert_id).subquery())
    query = filters.apply(select(Alert.id, Alert.team, Response.team, Alert.status, Alert.due_at, Alert.created_at, first.c.first)
                          .join(Response, Response.id == Alert.response_id).outerjoin(first, first.c.alert_id == Alert.id)
                          .where((Alert.team.in_(teams)) | (Response.team.in_(teams))))
    from api.db.models import UTCDateTime

    utc = UTCDateTime()
    out = []
    for _id, team, segment, status, due, created, first_at in session.execute(query):
        if isinstance(first_at, str):  # SQLite returns an aggregate's datetime as text
            first_at = datetime.fromisoformat(first_at)
        out.append({"teams": sorted({t for t in (team, segment) if t in teams}), "status": status, "due_at": due,
                    "created_at": created, "first_contact": utc.process_result_value(first_at, None) if first_at else None})
    return out


def known_teams(session: Session, taxonomy_teams: set[str]) -> list[str]:
    """Every team: the taxonomy's, those answers, themes or alerts were routed to, and those users belong to."""
    found = set(taxonomy_teams)
    found.update(t for (t,) in session.execute(select(ResponseTheme.team).distinct()) if t)
    found.update(t for (t,) in session.execute(select(Response.team).distinct()) if t)
    found.update(t for (t,) in session.execute(select(Alert.team).distinct()) if t)
    found.update(t for (t,) in session.execute(select(UserTeam.team).distinct()) if t)
    found.discard("unassigned")
    return sorted(found)


def filter_options(session: Session) -> dict[str, list[str]]:
    """The values each segment filter can take (what the stored answers carry)."""
    out: dict[str, list[str]] = {}
    for name in ("channel", "country", "department", "touchpoint", "team", "lang"):
        column = getattr(Response, name)
        out[name] = sorted(v for (v,) in session.execute(select(column).distinct().where(column.is_not(None))) if v)
    return out


def team_members(session: Session, team: str) -> list[dict[str, str]]:
    """Active users of ``team`` (who an alert or action item can be assigned to)."""
    rows = session.execute(select(User.username, User.display_name, User.role).join(UserTeam)
                           .where(UserTeam.team == team, User.active.is_(True)).order_by(User.display_name))
    return [{"username": u, "name": n, "role": r} for u, n, r in rows]


def highlight(text: str, evidence: dict[str, Any] | None) -> tuple[str, str, str]:
    """``(before, evidence, after)`` of an answer, for marking the clause a theme was read from."""
    if not evidence:
        return text, "", ""
    start, end = int(evidence.get("start", -1)), int(evidence.get("end", -1))
    if not 0 <= start < end <= len(text):
        return text, "", ""
    return text[:start], text[start:end], text[end:]


def team_items(session: Session, team: str, filters: Filters, now: datetime) -> list[dict[str, Any]]:
    """The team's action items: open ones, and done ones created within the filter's period."""
    start, end = filters.bounds()
    query = select(ActionItem).where(ActionItem.team == team)
    if start is not None:
        query = query.where(ActionItem.created_at >= start)
    if end is not None:
        query = query.where(ActionItem.created_at < end)
    items = session.scalars(query.order_by(case((ActionItem.status == "done", 1), else_=0), ActionItem.due_at, ActionItem.id))
    return [action_item_out(i, now) for i in items]


def team_page(session: Session, team: str, filters: Filters, viewer: Viewer, period: str | None,
              now: datetime | None = None, memo: Callable[[str, Callable[[], Any]], Any] | None = None) -> dict[str, Any]:
    """What a team's page shows: NPS and trend, problems and praise, open and recently resolved alerts (an
    agent's own only), action items and members. ``memo(name, compute)`` may serve the costly figures (NPS,
    the team's row of the teams table) from a cache."""
    now = now or datetime.now(UTC)
    memo = memo or (lambda _name, compute: compute())  # "nps" depends on the answers alone, "table" on alerts too
    # every panel is limited to the team, which the caller checked the user may see: the user's wider scope
    # would only make each query test every answer's membership again
    filters = dataclasses.replace(filters, scope=None)
    scoped = dataclasses.replace(filters, scope=(team,))
    base = AlertQuery(team=team, team_or_segment=True, owner=viewer.alert_owner, filters=filters)
    open_total, open_alerts = list_alerts(session, dataclasses.replace(base, open_only=True), 50, 0, now)
    _, resolved = list_alerts(session, dataclasses.replace(base, status="resolved"), 10, 0, now)
    feeds = {kind: team_feed(session, team, kind, filters, 8, 0) for kind in ("problem", "praise")}
    for feed in feeds.values():
        for item in feed["items"]:
            item["parts"] = highlight(item["text"], item["evidence"])
    return {"team": team, "nps": memo("nps", lambda: nps_block(session, scoped, period, now)), "problems": feeds["problem"],
            "praise": feeds["praise"], "open_total": open_total, "open_alerts": open_alerts, "resolved_alerts": resolved,
            "items": team_items(session, team, filters, now), "members": team_members(session, team),
            "table": memo("table", lambda: teams_table(session, filters, [team], now)[0])}


__all__ = ["FOLLOW_UP_HOURS", "alert_facts", "choose_period", "filter_options", "followed_up", "highlight", "known_teams",
           "nps_block", "period_end", "team_members", "team_page", "teams_table"]

"""Read side: filters, serialisers and the figures (all maths comes from ``nps_nlp``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from api.db.models import ActionItem, Alert, Response, ResponseTheme
from api.settings import SEGMENTS
from nps_nlp.action_points import action_points, passive_drivers
from nps_nlp.nps import nps, nps_trend

Q = TypeVar("Q")


@dataclass
class Filters:
    """Which responses a figure covers: a period, segment values, language, and the teams a user may see.

    ``since`` and ``until`` are both inclusive when they are dates (``until=2026-11-30`` covers all of that day),
    read in the time zone ``tz``; a datetime ``until`` is exclusive (the instant itself is not covered).
    ``scope`` limits the responses to those of the listed teams: answered to such a team (its ``team`` segment),
    with a theme routed to it, or with an alert routed to it; ``None`` covers every team.
    """

    since: datetime | date | None = None
    until: datetime | date | None = None
    team: str | None = None
    department: str | None = None
    channel: str | None = None
    touchpoint: str | None = None
    country: str | None = None
    customer_id: str | None = None
    lang: str | None = None
    tz: str = "UTC"
    scope: tuple[str, ...] | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as aware UTC datetimes: ``[start, end)``."""
        zone = ZoneInfo(self.tz)

        def start_of(day: date) -> datetime:
            return datetime.combine(day, time(0), zone).astimezone(UTC)

        start = self.since if isinstance(self.since, datetime) or self.since is None else start_of(self.since)
        end = self.until if isinstance(self.until, datetime) or self.until is None else start_of(self.until + timedelta(days=1))
        return start, end

    def apply(self, select_: Q) -> Q:
        """``select_`` (a query over ``Response``, possibly joined) restricted to these filters."""
        query: Any = select_
        start, end = self.bounds()
        if start is not None:
            query = query.where(Response.timestamp >= start)
        if end is not None:
            query = query.where(Response.timestamp < end)
        for name in (*SEGMENTS, "customer_id", "lang"):
            value = getattr(self, name)
            if value is not None:
                query = query.where(getattr(Response, name) == value)
        if self.scope is not None:
            query = query.where(in_teams(self.scope))
        return query

    def query_args(self) -> dict[str, str]:
        """The filters as URL query parameters (dates as ISO dates), for links that keep the view."""
        out: dict[str, str] = {}
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        for name in (*SEGMENTS, "lang"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def in_teams(teams: tuple[str, ...] | list[str]) -> Any:
    """A condition on ``Response``: the answer belongs to one of ``teams`` (its team segment, a routed theme or
    a routed alert)."""
    teams = list(teams)
    if not teams:
        return false()
    return or_(Response.team.in_(teams),
               Response.id.in_(select(ResponseTheme.response_id).where(ResponseTheme.team.in_(teams))),
               Response.id.in_(select(Alert.response_id).where(Alert.team.in_(teams))))


def response_out(row: Response, alert_id: int | None = None) -> dict[str, Any]:
    return {"id": row.id, "external_id": row.external_id, "score": row.score, "band": row.band, "text": row.text,
            "lang": row.lang, "timestamp": row.timestamp, "customer_id": row.customer_id,
            "account_id": row.account_id, "segments": {k: getattr(row, k) for k in SEGMENTS}, "sentiment": row.sentiment,
            "sentiment_score": row.sentiment_score, "urgency_level": row.urgency_level, "urgent": row.urgent,
            "analysis": row.analysis, "model_id": row.model_id, "alert_id": alert_id, "created_at": row.created_at,
            "quarantine_breach": row.quarantine_breach}


def alert_out(alert: Alert, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    r = alert.response
    return {"id": alert.id, "response_id": r.id, "external_id": r.external_id, "customer_id": r.customer_id,
            "score": r.score, "text": r.text, "lang": r.lang, "level": alert.level, "reasons": alert.reasons,
            "team": alert.team, "status": alert.status, "owner": alert.owner, "due_at": alert.due_at,
            "overdue": alert.status != "resolved" and alert.due_at < now, "created_at": alert.created_at,
            "updated_at": alert.updated_at,
            "history": [{"at": e.at, "actor": e.actor, "kind": e.kind, "old": e.old, "new": e.new, "note": e.note}
                        for e in alert.events]}


def action_item_out(item: ActionItem, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {"id": item.id, "theme": item.theme, "team": item.team, "title": item.title, "owner": item.owner,
            "due_at": item.due_at, "status": item.status, "progress": item.progress,
            "overdue": item.status != "done" and item.due_at is not None and item.due_at < now,
            "notes": item.notes or [], "created_at": item.created_at, "updated_at": item.updated_at}


def nps_report(session: Session, filters: Filters, period: str, by: str | None) -> dict[str, Any]:
    """Overall NPS with CI, the trend per period with changes, and optionally the same per segment value."""
    columns = [Response.score, Response.timestamp] + ([getattr(Response, by)] if by else [])
    rows = session.execute(filters.apply(select(*columns)).order_by(Response.timestamp)).all()
    scores = [r[0] for r in rows]
    times = [r[1] for r in rows]

    def block(sc: list[int], ts: list[datetime]) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
        trend = nps_trend(sc, ts, period) if sc else []
        change = trend[-1]["change"] if len(trend) >= 2 else None
        return nps(sc).to_dict(), trend, change

    overall, trend, change = block(scores, times)
    out: dict[str, Any] = {"period": period, "overall": overall, "trend": trend, "change": change, "by": by, "segments": []}
    if by:
        groups: dict[str | None, tuple[list[int], list[datetime]]] = defaultdict(lambda: ([], []))
        for row in rows:
            groups[row[2]][0].append(row[0])
            groups[row[2]][1].append(row[1])
        for value in sorted(groups, key=lambda v: (v is None, v or "")):
            summary, seg_trend, seg_change = block(*groups[value])
            out["segments"].append({"value": value, "summary": summary, "trend": seg_trend, "change": seg_change})
    return out


def tagged_responses(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """Responses in the shape ``nps_nlp.action_points`` takes."""
    query = filters.apply(select(Response.external_id, Response.score, Response.text, Response.lang, Response.timestamp,
                                 Response.analysis)).order_by(Response.id)
    return [{"id": ext, "score": score, "text": text, "lang": lang, "timestamp": ts.isoformat(),
             "themes": (analysis or {}).get("themes", [])}
            for ext, score, text, lang, ts, analysis in session.execute(query)]


def action_point_report(session: Session, filters: Filters, taxonomy: Any, period: str, min_count: int,
                        n_quotes: int, limit: int) -> dict[str, Any]:
    responses = tagged_responses(session, filters)
    points = action_points(responses, taxonomy, min_count=min_count, n_quotes=n_quotes, period=period) if responses else []
    items = list(session.scalars(select(ActionItem).where(ActionItem.status != "done").order_by(ActionItem.id)))
    by_theme: dict[str, list[dict[str, Any]]] = defaultdict(list)
    now = datetime.now(UTC)
    for item in items:
        by_theme[item.theme].append(action_item_out(item, now))
    out = [{**p.to_dict(), "assignments": by_theme.get(p.theme, [])} for p in points[:limit]]
    return {"n": len(responses), "nps": nps([r["score"] for r in responses]).nps, "items": out}


def passive_report(session: Session, filters: Filters, taxonomy: Any, min_count: int, n_quotes: int,
                   limit: int) -> dict[str, Any]:
    responses = tagged_responses(session, filters)
    drivers = passive_drivers(responses, taxonomy, min_count=min_count, n_quotes=n_quotes) if responses else []
    return {"passives": sum(1 for r in responses if 7 <= r["score"] <= 8), "items": [d.to_dict() for d in drivers[:limit]]}


def team_counts(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """Per team: problems and praise routed to it, open/overdue alerts and action items."""
    now = datetime.now(UTC)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("problems", "praise", "open_alerts", "overdue_alerts", "open_action_items", "overdue_action_items"), 0))
    q = filters.apply(select(ResponseTheme.team, ResponseTheme.kind, func.count()).join(Response)
                      .group_by(ResponseTheme.team, ResponseTheme.kind))
    for team, kind, n in session.execute(q):
        if kind in ("problem", "praise"):
            counts[team]["problems" if kind == "problem" else "praise"] += n
    for alert_team, alert_due in session.execute(select(Alert.team, Alert.due_at).where(Alert.status != "resolved")):
        key = alert_team or "unassigned"
        counts[key]["open_alerts"] += 1
        counts[key]["overdue_alerts"] += int(alert_due < now)
    for item_team, due in session.execute(select(ActionItem.team, ActionItem.due_at).where(ActionItem.status != "done")):
        key = item_team or "unassigned"
        counts[key]["open_action_items"] += 1
        counts[key]["overdue_action_items"] += int(due is not None and due < now)
    return [{"team": team, **c} for team, c in sorted(counts.items())]


def known_team(session: Session, team: str, taxonomy_teams: set[str]) -> bool:
    """A team the taxonomy names, or one that answers or alerts were routed to."""
    return team in taxonomy_teams or session.scalar(select(ResponseTheme.id).where(ResponseTheme.team == team).limit(1)) \
        is not None


def team_feed(session: Session, team: str, kind: str | None, filters: Filters, limit: int, offset: int) -> dict[str, Any]:
    base = select(ResponseTheme, Response).join(Response).where(ResponseTheme.team == team)
    if kind:
        base = base.where(ResponseTheme.kind == kind)
    base = filters.apply(base)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Response.timestamp.desc(), ResponseTheme.id).limit(limit).offset(offset)).all()
    items = []
    for theme, resp in rows:
        themes: list[dict[str, Any]] = resp.analysis.get("themes", [])
        evidence = next((t.get("evidence") for t in themes if t["theme"] == theme.theme), None)
        items.append({"response_id": resp.id, "external_id": resp.external_id, "timestamp": resp.timestamp, "score": resp.score,
                      "lang": resp.lang, "theme": theme.theme, "kind": theme.kind, "sentiment": theme.sentiment,
                      "confidence": theme.confidence, "text": resp.text, "evidence": evidence})
    return {"team": team, "total": total, "items": items}


__all__ = ["Filters", "in_teams", "action_item_out", "action_point_report", "alert_out", "nps_report",
           "known_team", "passive_report", "response_out", "team_counts", "team_feed"]

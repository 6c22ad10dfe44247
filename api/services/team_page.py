"""What a team's workspace page shows: NPS and trend, problems and praise, open and recently resolved alerts,
action items and members. The feeds' counts and newest mentions are a tally (:mod:`api.services.tallies`): the
newest mentions of two ranges of answers are the newest of both ranges' newest."""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, case, select, type_coerce
from sqlalchemy.orm import Session

from api.db.models import ActionItem, Response, ResponseTheme, User, UserTeam
from api.services.queries import Filters, action_item_out
from api.services.tallies import IdRange, within
from api.services.team_stats import teams_table, utc_of
from api.services.triage import AlertQuery, list_alerts
from api.services.users import Viewer
from api.services.workspace import DayTally, nps_block

FEED_KINDS = ("problem", "praise")
FEED_SIZE = 8
"""Mentions shown per feed, newest first."""

Newest = tuple[datetime, int]
"""A mention's place in a feed: its answer's time and its theme row id (newest time first, then lowest id)."""


@dataclass(frozen=True)
class FeedTally:
    """Per feed kind: the mentions routed to a team (``totals``) and the :data:`FEED_SIZE` newest (``newest``)."""

    totals: Mapping[str, int] = field(default_factory=dict)
    newest: Mapping[str, tuple[Newest, ...]] = field(default_factory=dict)

    def merge(self, other: FeedTally) -> FeedTally:
        """The tally of both ranges of answers."""
        kinds = set(self.totals) | set(other.totals)
        return FeedTally({k: self.totals.get(k, 0) + other.totals.get(k, 0) for k in kinds},
                         {k: _newest((*self.newest.get(k, ()), *other.newest.get(k, ()))) for k in kinds})


def _newest(places: Any) -> tuple[Newest, ...]:
    by_id = sorted(places, key=lambda p: p[1])
    return tuple(sorted(by_id, key=lambda p: p[0], reverse=True)[:FEED_SIZE])  # stable: lowest id first on a tie


def feed_tally(session: Session, team: str, filters: Filters, ids: IdRange | None = None) -> FeedTally:
    """The :class:`FeedTally` of ``team``'s problems and praise among the answers in ``ids`` within ``filters``: one
    pass over the team's mentions (their kind, time and row id), counted and ranked here."""
    query = select(ResponseTheme.team, ResponseTheme.kind, type_coerce(Response.timestamp, String), ResponseTheme.id
                   ).select_from(ResponseTheme).join(Response)
    if ids is None or not ids.is_delta:
        query = query.where(ResponseTheme.team == team, ResponseTheme.kind.in_(FEED_KINDS))
    # else the new answers' mentions are picked here: on the team's index the database would read all its mentions
    by_kind: dict[str, list[tuple[Any, int]]] = {}
    for row_team, kind, when, row_id in session.execute(within(filters, query, ids)):
        if row_team == team and kind in FEED_KINDS:
            by_kind.setdefault(kind, []).append((when, row_id))
    totals = {kind: len(rows) for kind, rows in by_kind.items()}
    newest = {kind: tuple((utc_of(when), int(row_id)) for when, row_id in heapq.nlargest(FEED_SIZE, rows, key=lambda r: (r[0], -r[1])))
              for kind, rows in by_kind.items()}
    return FeedTally(totals, newest)


def feed_items(session: Session, team: str, tally: FeedTally) -> dict[str, dict[str, Any]]:
    """Each feed of ``tally`` as the page shows it: ``team``, ``total`` and ``items`` (the newest mentions with
    their answer and the evidence marked)."""
    ids = [row_id for places in tally.newest.values() for _, row_id in places]
    found = {theme.id: (theme, resp) for theme, resp in
             session.execute(select(ResponseTheme, Response).join(Response).where(ResponseTheme.id.in_(ids)))} if ids else {}
    out = {}
    for kind in FEED_KINDS:
        items = []
        for _, row_id in tally.newest.get(kind, ()):
            if row_id not in found:
                continue  # re-tagged since the tally was read (on PostgreSQL, by a transaction committed meanwhile)
            theme, resp = found[row_id]
            themes: list[dict[str, Any]] = resp.analysis.get("themes", [])
            evidence = next((t.get("evidence") for t in themes if t["theme"] == theme.theme), None)
            items.append({"response_id": resp.id, "external_id": resp.external_id, "timestamp": resp.timestamp, "score": resp.score,
                          "lang": resp.lang, "theme": theme.theme, "kind": theme.kind, "sentiment": theme.sentiment,
                          "confidence": theme.confidence, "text": resp.text, "evidence": evidence,
                          "parts": highlight(resp.text, evidence)})
        out[kind] = {"team": team, "total": tally.totals.get(kind, 0), "items": items}
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
              now: datetime | None = None, days: DayTally | None = None, table: dict[str, Any] | None = None,
              feeds: FeedTally | None = None) -> dict[str, Any]:
    """What a team's page shows: NPS and trend, problems and praise, open and recently resolved alerts (an
    agent's own only), action items and members. The costly parts may come precomputed: ``days`` (the team's
    :func:`api.services.workspace.day_tally`), ``table`` (its row of the teams table) and ``feeds``."""
    now = now or datetime.now(UTC)
    # every panel is limited to the team, which the caller checked the user may see: the user's wider scope
    # would only make each query test every answer's membership again
    filters = dataclasses.replace(filters, scope=None)
    scoped = dataclasses.replace(filters, scope=(team,))
    base = AlertQuery(team=team, team_or_segment=True, owner=viewer.alert_owner, filters=filters)
    open_total, open_alerts = list_alerts(session, dataclasses.replace(base, open_only=True), 50, 0, now)
    _, resolved = list_alerts(session, dataclasses.replace(base, status="resolved"), 10, 0, now)
    shown = feed_items(session, team, feed_tally(session, team, filters) if feeds is None else feeds)
    return {"team": team, "nps": nps_block(session, scoped, period, now, days), "problems": shown["problem"],
            "praise": shown["praise"], "open_total": open_total, "open_alerts": open_alerts, "resolved_alerts": resolved,
            "items": team_items(session, team, filters, now), "members": team_members(session, team),
            "table": table if table is not None else teams_table(session, filters, [team], now)[0]}


__all__ = ["FEED_KINDS", "FEED_SIZE", "FeedTally", "feed_items", "feed_tally", "highlight", "team_items", "team_members",
           "team_page"]

"""The workspace's teams table: per team its NPS with interval, answers, problems and praise (a tally of the
answers, :mod:`api.services.tallies`), and its open and overdue alerts with the share first contacted within 48
hours (read from the alerts on each view, since alerts change state).

A team's answers are those answered to it (its ``team`` segment), with a theme routed to it, or with an alert
routed to it; its alerts are those routed to it or answered to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, func, select, type_coerce, union
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, Response, ResponseTheme
from api.services.queries import Filters
from api.services.tallies import IdRange, within
from api.services.theme_counts import band_sums
from nps_nlp.nps import NpsSummary

FOLLOW_UP_HOURS = 48
"""Detractor follow-up target: first contact within this many hours of the alert."""

CONTACTED = ("contacted", "resolved")


def membership(teams: list[str], ids: IdRange | None = None) -> Any:
    """(response id, team) pairs of ``teams`` (and of the answers in ``ids``): a response belongs to its team
    segment, the teams its themes are routed to, and the team its alert is routed to."""
    def part(rid: Any, team: Any) -> Any:
        return select(rid.label("rid"), team.label("team")).where(team.in_(teams), *(ids.where(rid) if ids is not None else ()))

    return union(part(ResponseTheme.response_id, ResponseTheme.team), part(Response.id, Response.team),
                 part(Alert.response_id, Alert.team)).subquery()


def filtered_membership(filters: Filters, teams: list[str], ids: IdRange | None = None) -> Any:
    """(response id, team, score) of ``teams``' answers that pass ``filters`` (and are in ``ids``), as
    :func:`membership` counts them, found from the answers the filters select: for a filtered view that is a
    small share of the answers, which the filters' indexes find, where :func:`membership` would look up every
    member of the teams to test the filters on it."""
    def part(team: Any, *joined: tuple[Any, Any]) -> Any:
        query = select(Response.id.label("rid"), team.label("team"), Response.score.label("score")).select_from(Response)
        for table, on in joined:
            query = query.join(table, on)
        return within(filters, query.where(team.in_(teams)), ids)

    return union(part(Response.team), part(ResponseTheme.team, (ResponseTheme, ResponseTheme.response_id == Response.id)),
                 part(Alert.team, (Alert, Alert.response_id == Response.id))).subquery()


@dataclass(frozen=True)
class TeamTally:
    """Per team: promoters, passives and detractors among its answers, problems and praise routed to it."""

    teams: Mapping[str, tuple[int, int, int, int, int]] = field(default_factory=dict)

    def merge(self, other: TeamTally) -> TeamTally:
        """The tally of both ranges of answers."""
        teams = dict(self.teams)
        for team, counts in other.teams.items():
            old = teams.get(team, (0, 0, 0, 0, 0))
            teams[team] = (old[0] + counts[0], old[1] + counts[1], old[2] + counts[2], old[3] + counts[3], old[4] + counts[4])
        return TeamTally(teams)


def team_tally(session: Session, filters: Filters, teams: list[str], ids: IdRange | None = None) -> TeamTally:
    """The :class:`TeamTally` of ``teams`` over the answers in ``ids`` within ``filters`` (its scope aside: each
    row is one team's)."""
    plain = dataclasses.replace(filters, scope=None)
    if ids is not None and ids.is_delta:
        return _new_answers(session, plain, teams, ids)
    filtered = plain.apply(select(Response.id)).whereclause is not None
    out: dict[str, list[int]] = {}
    if filtered:
        f = filtered_membership(plain, teams, ids)
        counts = select(f.c.team, *band_sums(f.c.score))
    else:
        m = membership(teams, ids)
        counts = select(m.c.team, *band_sums(Response.score)).join(Response, Response.id == m.c.rid)
    for team, pro, pas, det in session.execute(counts.group_by(counts.selected_columns[0])):
        out.setdefault(team, [0, 0, 0, 0, 0])[:3] = [int(pro or 0), int(pas or 0), int(det or 0)]
    kinds = select(ResponseTheme.team, ResponseTheme.kind, func.count()).where(ResponseTheme.team.in_(teams),
                                                                               ResponseTheme.kind.in_(("problem", "praise")))
    if filtered:
        kinds = within(plain, kinds.join(Response), ids)
    elif ids is not None:  # the theme rows' own answer ids bound them: no answer needs to be read
        kinds = kinds.where(*ids.where(ResponseTheme.response_id))
    for team, kind, n in session.execute(kinds.group_by(ResponseTheme.team, ResponseTheme.kind)):
        out.setdefault(team, [0, 0, 0, 0, 0])[3 if kind == "problem" else 4] = int(n)
    return TeamTally({team: (c[0], c[1], c[2], c[3], c[4]) for team, c in out.items()})


def _new_answers(session: Session, filters: Filters, teams: list[str], ids: IdRange) -> TeamTally:
    """:func:`team_tally` of a few new answers, read by id and counted here (the teams' indexes would make the
    database read every answer of the teams)."""
    wanted = set(teams)
    answers = {rid: (score, {team} & wanted) for rid, score, team in
               session.execute(within(filters, select(Response.id, Response.score, Response.team), ids))}
    out: dict[str, list[int]] = {}
    themes = within(filters, select(ResponseTheme.response_id, ResponseTheme.team, ResponseTheme.kind).join(Response), ids)
    for rid, team, kind in session.execute(themes):
        if team in wanted:
            answers[rid][1].add(team)
            if kind in ("problem", "praise"):
                out.setdefault(team, [0, 0, 0, 0, 0])[3 if kind == "problem" else 4] += 1
    for rid, team in session.execute(within(filters, select(Alert.response_id, Alert.team).join(Response), ids)):
        if team in wanted:
            answers[rid][1].add(team)
    for score, members in answers.values():
        for team in members:
            out.setdefault(team, [0, 0, 0, 0, 0])[0 if score >= 9 else 1 if score >= 7 else 2] += 1
    return TeamTally({team: (c[0], c[1], c[2], c[3], c[4]) for team, c in out.items()})


def followed_up(created: datetime, first_contact: datetime | None, now: datetime) -> tuple[bool, bool]:
    """``(judged, within 48 h)``: an alert is judged once contacted or once its 48 hours have passed."""
    deadline = created + timedelta(hours=FOLLOW_UP_HOURS)
    hit = first_contact is not None and first_contact <= deadline
    return hit or now >= deadline, hit


def utc_of(value: Any) -> datetime:
    """A datetime column read past its type (SQLite gives text, PostgreSQL a naive datetime) as aware UTC."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC)


def alert_stats(session: Session, filters: Filters, teams: list[str], now: datetime) -> dict[str, dict[str, int]]:
    """Per team of ``teams`` (an alert counts for its routed team and its answer's team segment), within
    ``filters``: ``open`` and ``overdue`` alerts, and of the judged ones (:func:`followed_up`) how many were first
    contacted within 48 hours (``judged``, ``hits``)."""
    first = (select(AlertEvent.alert_id, func.min(AlertEvent.at).label("first"))
             .where(AlertEvent.kind == "status", AlertEvent.new.in_(CONTACTED)).group_by(AlertEvent.alert_id).subquery())
    expired = now - timedelta(hours=FOLLOW_UP_HOURS)
    # each alert looks up its answer by id (the alerts are few): its team segment, and whether it passes the filters
    segment = select(Response.team).where(Response.id == Alert.response_id).scalar_subquery()
    query = (select(Alert.team, segment, Alert.status != "resolved", Alert.due_at < now, Alert.created_at <= expired,
                    type_coerce(Alert.created_at, String), type_coerce(first.c.first, String))
             .outerjoin(first, first.c.alert_id == Alert.id).where(Alert.team.in_(teams) | segment.in_(teams)))
    if filters.apply(select(Response.id)).whereclause is not None:
        answer = filters.apply(select(Response.id).where(Response.id == Alert.response_id))
        query = query.where(answer.scalar_subquery().is_not(None))
    out = {t: {"open": 0, "overdue": 0, "judged": 0, "hits": 0} for t in teams}
    for team, segment, is_open, overdue, old, created, first_at in session.execute(query):
        hit = first_at is not None and utc_of(first_at) <= utc_of(created) + timedelta(hours=FOLLOW_UP_HOURS)
        for name in {t for t in (team, segment) if t in out}:
            stats = out[name]
            stats["open"] += int(bool(is_open))
            stats["overdue"] += int(bool(is_open and overdue))
            if hit or old:
                stats["judged"] += 1
                stats["hits"] += int(hit)
    return out


def teams_table(session: Session, filters: Filters, teams: list[str], now: datetime | None = None,
                tally: TeamTally | None = None, alerts: dict[str, dict[str, int]] | None = None) -> list[dict[str, Any]]:
    """Per team in ``teams``: NPS (with interval), answers, open and overdue alerts, the share of judged alerts
    first contacted within 48 hours, problems and praise, all within ``filters``; ``tally`` (:func:`team_tally`)
    and ``alerts`` (:func:`alert_stats`) when given hold the answers' and the alerts' parts."""
    now = now or datetime.now(UTC)
    plain = dataclasses.replace(filters, scope=None)
    tally = team_tally(session, plain, teams) if tally is None else tally
    alerts = alert_stats(session, plain, teams, now) if alerts is None else alerts
    rows = []
    for team in teams:
        pro, pas, det, problems, praise = tally.teams.get(team, (0, 0, 0, 0, 0))
        n = pro + pas + det
        stats = alerts[team]
        rows.append({"team": team, "nps": NpsSummary.from_counts(pro, pas, det).to_dict() if n else None, "n": n,
                     "open_alerts": stats["open"], "overdue_alerts": stats["overdue"], "problems": problems, "praise": praise,
                     "followup_share": stats["hits"] / stats["judged"] if stats["judged"] else None,
                     "followup_judged": stats["judged"]})
    return rows


__all__ = ["CONTACTED", "FOLLOW_UP_HOURS", "TeamTally", "alert_stats", "filtered_membership", "followed_up", "membership",
           "team_tally", "teams_table", "utc_of"]

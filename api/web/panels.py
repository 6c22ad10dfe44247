"""The workspace pages' figures, served from two caches on the app: the tallies of the answers
(:mod:`api.services.tallies`, brought forward as answers arrive) and the panels computed from them (keyed by the
versions of the data they read). The versions are read once per request, so a new answer, a corrected one, a
changed alert or a resolved one shows on the next page view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from api.services.leaderboard import Window, WindowCounts, window_counts
from api.services.queries import Filters
from api.services.tallies import IdRange, Mark, Tallies, read_mark
from api.services.team_page import FeedTally, feed_tally
from api.services.team_stats import TeamTally, alert_stats, team_tally, teams_table
from api.services.theme_counts import ThemeTally, theme_tally
from api.services.workspace import (
    DayTally,
    PanelCache,
    ValueTally,
    alerts_version,
    day_tally,
    filter_options,
    insights,
    known_teams,
    value_tally,
)

T = TypeVar("T")


@dataclass
class WorkspaceCache:
    """The caches one app keeps for its workspace pages."""

    tallies: Tallies
    panels: PanelCache


@dataclass(frozen=True)
class Versions:
    """What the data looked like when a request began: the answers (:class:`Mark`) and the alerts."""

    answers: Mark
    alerts: tuple[Any, ...]


def cache_of(request: Request) -> WorkspaceCache:
    cache: WorkspaceCache | None = getattr(request.app.state, "workspace_cache", None)
    if cache is None:
        cache = request.app.state.workspace_cache = WorkspaceCache(Tallies(), PanelCache())
    return cache


def versions(session: Session, request: Request) -> Versions:
    """The data's :class:`Versions`, read once per request."""
    found: Versions | None = getattr(request.state, "workspace_versions", None)
    if found is None:
        found = request.state.workspace_versions = Versions(read_mark(session), alerts_version(session))
    return found


def filters_key(filters: Filters, by_day: bool = True) -> tuple[Any, ...]:
    """What ``filters`` select, as a cache key; the time zone only matters to figures counted per day
    (``by_day``) or to a period's bounds."""
    if not by_day and filters.since is None and filters.until is None:
        filters = dataclasses.replace(filters, tz="UTC")
    return tuple(sorted((k, str(v)) for k, v in filters.__dict__.items()))


def _tally(request: Request, session: Session, key: tuple[Any, ...], compute: Callable[[IdRange], T],
           merge: Callable[[T, T], T]) -> T:
    counted: dict[Any, Any] | None = getattr(request.state, "workspace_counted", None)
    if counted is None:
        counted = request.state.workspace_counted = {}
    return cache_of(request).tallies.get(key, session, versions(session, request).answers, compute, merge, counted)


def days(request: Request, session: Session, filters: Filters) -> DayTally:
    """The answers per local day within ``filters`` (for :func:`api.services.workspace.nps_block`)."""
    return _tally(request, session, ("days", filters_key(filters)), lambda ids: day_tally(session, filters, ids), DayTally.merge)


def insight_panels(request: Request, session: Session, filters: Filters, taxonomy: Any) -> dict[str, Any]:
    """Action points and what passives say within ``filters`` (:func:`api.services.workspace.insights`)."""
    key = filters_key(filters, by_day=False)
    themes = _tally(request, session, ("themes", key), lambda ids: theme_tally(session, filters, ids), ThemeTally.merge)
    labels = tuple((t.id, t.team, t.label("en")) for t in taxonomy.themes)  # a promoted model may bring other themes
    return cache_of(request).panels.get(("insights", key, labels, versions(session, request).answers),
                                        lambda: insights(session, filters, taxonomy, tally=themes))


def table(request: Request, session: Session, filters: Filters, teams: list[str], now: datetime) -> list[dict[str, Any]]:
    """The teams table of ``teams`` within ``filters`` (:func:`api.services.team_stats.teams_table`); the alerts'
    figures are read again when an alert changes, and at least once a minute (alerts become overdue)."""
    plain = dataclasses.replace(filters, scope=None)
    key = (filters_key(plain, by_day=False), tuple(teams))
    counts = _tally(request, session, ("teams", *key), lambda ids: team_tally(session, plain, teams, ids), TeamTally.merge)
    minute = now.replace(second=0, microsecond=0)
    alerts = cache_of(request).panels.get(("alerts", *key, versions(session, request).alerts, minute),
                                          lambda: alert_stats(session, plain, teams, now))
    return teams_table(session, plain, teams, now, counts, alerts)


def feeds(request: Request, session: Session, team: str, filters: Filters) -> FeedTally:
    """A team's problems and praise within ``filters`` (:func:`api.services.team_page.feed_tally`)."""
    plain = dataclasses.replace(filters, scope=None)
    return _tally(request, session, ("feeds", team, filters_key(plain, by_day=False)), lambda ids: feed_tally(session, team, plain, ids),
                  FeedTally.merge)


def leaderboard_counts(request: Request, session: Session, window: Window, filters: Filters) -> WindowCounts:
    """The answers' counts of a leaderboard's period and the one before (:func:`api.services.leaderboard.window_counts`)."""
    key = ("leaderboard", window.period, window.start, window.tz, filters_key(filters))
    return _tally(request, session, key, lambda ids: window_counts(session, window, filters, ids), WindowCounts.merge)


def _values(request: Request, session: Session) -> ValueTally:
    return _tally(request, session, ("values",), lambda ids: value_tally(session, ids), ValueTally.merge)


def all_teams(request: Request, session: Session, taxonomy_teams: set[str]) -> list[str]:
    """Every team (:func:`api.services.workspace.known_teams`)."""
    return known_teams(session, taxonomy_teams, _values(request, session))


def options(request: Request, session: Session) -> dict[str, list[str]]:
    """The values each segment filter offers (:func:`api.services.workspace.filter_options`)."""
    return filter_options(session, _values(request, session))


__all__ = ["Versions", "WorkspaceCache", "all_teams", "cache_of", "days", "feeds", "filters_key", "insight_panels",
           "leaderboard_counts", "options", "table", "versions"]

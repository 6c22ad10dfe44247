"""The workspace's warm-up after a start: once the service is ready, a background thread compiles the page
templates and counts the views people open first, so that the first of those views after a start is served
from the tallies (:mod:`api.services.tallies`) rather than counting every stored answer while someone waits.

It counts, without filters and in every time zone the active users chose: the company overview (trend, action
points, teams table), the page of each team with active members (where its team lead or agent lands after
signing in), the overview of each such user's teams, and the default leaderboard. Views with filters are counted
when first asked for. A
request that wants a view the warm-up is counting waits for it rather than counting it a second time
(:class:`api.services.tallies.KeyLocks`). Each view is counted in its own short session, so that on SQLite,
where a session holds the write lock, new answers are stored in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import User
from api.services.heap import freeze_heap
from api.services.leaderboard import Window
from api.services.queries import Filters
from api.services.users import viewer_of
from api.web import panels
from api.web.render import templates

log = logging.getLogger("nps_nlp.api")

Step = Callable[..., Any]
"""Counts one view: called with a request (:func:`_request`) and a session."""


def compile_templates() -> int:
    """Compile every page template (Jinja2 compiles one on its first use); the number compiled."""
    names = templates.env.list_templates(extensions=("html",))
    for name in names:
        templates.env.get_template(name)
    return len(names)


def _request(app: FastAPI) -> Request:
    """A stand-in request: what the panels read from one (the app's caches, a per-request memo)."""
    return Request({"type": "http", "app": app, "method": "GET", "path": "/app", "headers": [], "query_string": b""})


@dataclass(frozen=True)
class People:
    """Who may open the workspace: the time zones of the active users (and the default), the teams with active
    members, and the scopes (teams) of the active users who see only their own teams."""

    zones: list[str]
    member_teams: list[str]
    scopes: list[tuple[str, ...]]


def people(session: Session, default_zone: str) -> People:
    """The :class:`People` of the active users."""
    viewers = [viewer_of(user) for user in session.scalars(select(User).where(User.active.is_(True)))]
    zones = sorted({default_zone, *(v.timezone for v in viewers if v.timezone)})
    scopes = sorted({v.scope for v in viewers if v.scope})
    return People(zones, sorted({team for v in viewers for team in v.teams}), scopes)


def _overview(out: list[tuple[str, Step]], name: str, zones: list[str], scope: tuple[str, ...] | None, teams: list[str],
              taxonomy: Any, now: datetime) -> None:
    for zone in zones:
        out.append((f"{name} trend ({zone})", lambda r, s, z=zone: panels.days(r, s, Filters(tz=z, scope=scope))))
    filters = Filters(tz=zones[0], scope=scope)  # the zone matters only to the trend, counted per zone above
    out.append((f"{name} action points", lambda r, s: panels.insight_panels(r, s, filters, taxonomy)))
    out.append((f"{name} teams table", lambda r, s: panels.table(r, s, filters, teams, now)))


def steps(app: FastAPI, who: People, teams: list[str]) -> list[tuple[str, Step]]:
    """The views to count, in order, each as ``(name, step)``: the company overview, the page of each team with
    members, the overview of each user's teams and the leaderboard, in each of the users' time zones (``teams``:
    every team)."""
    taxonomy = app.state.nps.models.current.pipeline.taxonomy
    now = datetime.now(UTC)
    default = Filters(tz=who.zones[0])
    out: list[tuple[str, Step]] = []
    _overview(out, "overview", who.zones, None, teams, taxonomy, now)
    for team in (t for t in who.member_teams if t in teams):
        for zone in who.zones:
            out.append((f"team {team} trend ({zone})", lambda r, s, t=team, z=zone: panels.days(r, s, Filters(tz=z, scope=(t,)))))
        out.append((f"team {team} table", lambda r, s, t=team: panels.table(r, s, default, [t], now)))
        out.append((f"team {team} feeds", lambda r, s, t=team: panels.feeds(r, s, t, default)))
    for scope in who.scopes:
        visible = [t for t in teams if t in scope] or list(scope)  # as the overview lists a user's teams
        _overview(out, f"overview of {', '.join(scope)}", who.zones, scope, visible, taxonomy, now)
    for zone in who.zones:
        window = Window.last_complete("month", now, zone)
        out.append((f"leaderboard ({zone})", lambda r, s, w=window, z=zone: panels.leaderboard_counts(r, s, w, Filters(tz=z))))
    return out


def warm(app: FastAPI, stop: threading.Event | None = None) -> dict[str, Any]:
    """Compile the templates and count the first views (see the module's docstring); stops between views once
    ``stop`` is set. Returns what was done: ``templates``, ``views`` counted and ``seconds``."""
    started = time.perf_counter()
    state = app.state.nps
    done = {"templates": compile_templates(), "views": 0}
    taxonomy_teams = {t.team for t in state.models.current.pipeline.taxonomy.themes if t.team}
    with state.db.session() as session:
        who = people(session, state.settings.workspace_timezone)
        teams = panels.all_teams(_request(app), session, taxonomy_teams)
        panels.options(_request(app), session)
    for name, step in steps(app, who, teams):
        if stop is not None and stop.is_set():
            break
        with state.db.session() as session:
            step(_request(app), session)
        done["views"] += 1
        log.debug("workspace warm-up: %s", name)
    return {**done, "seconds": round(time.perf_counter() - started, 3)}


def warm_in_background(app: FastAPI, stop: threading.Event) -> None:
    """:func:`warm`, its outcome kept in ``app.state.workspace_warmup`` (``None`` while it runs) and logged; a
    failure is logged and leaves the views to be counted when first opened."""
    app.state.workspace_warmup = None
    try:
        done = warm(app, stop)
    except Exception:  # the service works without it
        log.exception("workspace warm-up failed; views are counted when first opened")
        app.state.workspace_warmup = {"failed": True}
        return
    freeze_heap(thaw=False)  # the compiled templates and counted views stay for the service's life
    app.state.workspace_warmup = done
    log.info("workspace warm-up done", extra=done)


__all__ = ["People", "compile_templates", "people", "steps", "warm", "warm_in_background"]

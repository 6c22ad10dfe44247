"""Workspace actions (POST, each CSRF-checked): sign in and out, work an alert, create and update action items,
manage users, save preferences. Each answers with a redirect back to the page it came from (htmx follows it
and swaps the page in place), and every change goes into the alert's or the item's history with the user as actor.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from api.db.models import ActionItem, Alert, User
from api.deps import ModelDep, SessionDep, SettingsDep, StateDep
from api.services import users as accounts
from api.services.triage import AlertChange, ItemChange, change_action_item, change_alert, create_action_item
from api.services.users import NewUser, Viewer, viewer_of
from api.web.auth import CsrfChecked, CurrentUser, SessionCookie, WebError, WebSession, clear_session, safe_next, write_session
from api.web.pages import home_of
from api.web.render import render
from nps_nlp.errors import ConfigError

router = APIRouter(prefix="/app", include_in_schema=False, dependencies=[CsrfChecked])

MAX_NOTE = 2000


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def _back(form: dict[str, str], fallback: str = "/app") -> RedirectResponse:
    return RedirectResponse(safe_next(form.get("next") or fallback), status_code=303)


def _note(form: dict[str, str]) -> str | None:
    note = form.get("note") or None
    if note and len(note) > MAX_NOTE:
        raise WebError(400, f"a note has at most {MAX_NOTE} characters")
    return note


def _due(form: dict[str, str], viewer: Viewer, name: str = "due") -> tuple[bool, datetime | None]:
    """``(given, end of that day in the user's zone)`` from a date field."""
    if name not in form:
        return False, None
    if not form[name]:
        return True, None
    try:
        day = date.fromisoformat(form[name])
    except ValueError:
        raise WebError(400, f"{name} must be a date such as 2026-12-31") from None
    return True, datetime.combine(day, time(23, 59), ZoneInfo(viewer.timezone)).astimezone(UTC)


@router.post("/login", response_model=None)
async def login(request: Request, state: StateDep, web: SessionCookie) -> Any:
    form = await _form(request)
    username, password = form.get("username", "").lower(), form.get("password", "")

    def check() -> Viewer | None:
        with state.db.session() as session:
            user = accounts.authenticate(session, username, password) if username and password else None
            return viewer_of(user) if user else None

    viewer = await run_in_threadpool(check)
    if viewer is None:
        return render(request, "login.html", web, None, status=401, next=safe_next(form.get("next")), error="login.failed")
    target = form.get("next") or "/app"
    response = RedirectResponse(safe_next(target) if target != "/app" else home_of(viewer), status_code=303)
    # a new CSRF token with the new identity: a token seen before sign-in is worth nothing after
    write_session(request, response, WebSession(viewer.id, viewer.epoch, secrets.token_urlsafe(32)))
    return response


@router.post("/logout", response_model=None)
async def logout() -> RedirectResponse:
    response = RedirectResponse("/app/login", status_code=303)
    clear_session(response)
    return response


ALERT_ACTIONS = ("assign_me", "assign", "contacted", "resolve", "reopen", "note")


@router.post("/alerts/{alert_id}", response_model=None)
async def work_alert(alert_id: int, request: Request, session: SessionDep, settings: SettingsDep, viewer: CurrentUser) -> Any:
    """``action``: assign_me, assign (``owner``), contacted, resolve (optional ``note``), reopen, note."""
    form = await _form(request)
    action = form.get("action", "")
    if action not in ALERT_ACTIONS:
        raise WebError(400, f"action must be one of {', '.join(ALERT_ACTIONS)}")
    alert = session.get(Alert, alert_id)
    if alert is None or not _may_see_alert(viewer, alert):
        raise WebError(404, "no such alert, or not one of yours")
    if not viewer.can_work_alert(alert.team or alert.response.team, alert.owner) \
            and not viewer.can_work_alert(alert.response.team, alert.owner):
        raise WebError(403, "you cannot change this alert")
    note = _note(form)
    change = AlertChange(note=note, claim=True)
    if action == "assign_me":
        change.owner = viewer.username
    elif action == "assign":
        owner = form.get("owner", "")
        if not owner or viewer.role == "agent":
            raise WebError(400, "choose who to assign the alert to")
        if session.scalar(select(User.id).where(User.username == owner, User.active.is_(True))) is None:
            raise WebError(400, "no active user by that name")
        change.owner = owner
    elif action == "contacted":
        change.status = "contacted"
    elif action == "resolve":
        change.status = "resolved"
    elif action == "reopen":
        change.status = "assigned" if alert.owner else "new"
    elif not note:
        raise WebError(400, "write a note")
    change_alert(session, settings, alert, change, viewer.username)
    return _back(form)


def _may_see_alert(viewer: Viewer, alert: Alert) -> bool:
    if viewer.sees_all:
        return True
    if viewer.role == "agent":
        return alert.owner == viewer.username
    return alert.team in viewer.teams or alert.response.team in viewer.teams


@router.post("/teams/{team}/items", response_model=None)
async def new_item(team: str, request: Request, session: SessionDep, model: ModelDep, viewer: CurrentUser) -> Any:
    """Create an action item for ``team``: ``theme``, ``title``, ``owner``, ``due`` (a date)."""
    if not viewer.can_manage_items(team):
        raise WebError(403, "only the team's lead (or an admin or analyst) creates its action items")
    form = await _form(request)
    theme, owner = form.get("theme", ""), form.get("owner", "")
    if theme not in model.pipeline.taxonomy:
        raise WebError(400, "choose a theme")
    if not owner:
        raise WebError(400, "choose an owner")
    _, due = _due(form, viewer)
    title = (form.get("title") or None)
    if title and len(title) > 300:
        raise WebError(400, "a title has at most 300 characters")
    create_action_item(session, theme, team, owner[:200], viewer.username, title, due)
    return _back(form, f"/app/teams/{team}")


@router.post("/items/{item_id}", response_model=None)
async def update_item(item_id: int, request: Request, session: SessionDep, viewer: CurrentUser) -> Any:
    """Update an action item: ``owner``, ``due``, ``progress`` (0-100), ``status``, ``note``."""
    item = session.get(ActionItem, item_id)
    if item is None or not viewer.can_see_team(item.team or ""):
        raise WebError(404, "no such action item, or not one of yours")
    if not (viewer.can_manage_items(item.team) or item.owner == viewer.username):
        raise WebError(403, "only the team's lead or the item's owner changes it")
    form = await _form(request)
    change = ItemChange(note=_note(form))
    if form.get("owner"):
        change.owner = form["owner"][:200]
    if form.get("status"):
        if form["status"] not in ("open", "in_progress", "done"):
            raise WebError(400, "status must be open, in_progress or done")
        change.status = form["status"]
    if form.get("progress"):
        try:
            change.progress = int(form["progress"])
        except ValueError:
            raise WebError(400, "progress is a whole number from 0 to 100") from None
        if not 0 <= change.progress <= 100:
            raise WebError(400, "progress is a whole number from 0 to 100")
        if change.status in (None, "open") and change.progress > 0 and item.status == "open":
            change.status = "in_progress"  # progress on an open item (status left as it was) means work started
    change.set_due, change.due_at = _due(form, viewer)
    change_action_item(session, item, change, viewer.username)
    return _back(form, f"/app/teams/{item.team}")


def _admin(viewer: Viewer) -> None:
    if viewer.role != "admin":
        raise WebError(403, "only admins manage users")


@router.post("/admin/users", response_model=None)
async def create_user(request: Request, session: SessionDep, settings: SettingsDep, viewer: CurrentUser) -> Any:
    _admin(viewer)
    form = await _form(request)
    teams = [t for t in form.get("teams", "").split(",") if t.strip()]
    try:
        accounts.create_user(session, NewUser(form.get("username", "").lower(), form.get("password", ""), form.get("role", ""),
                                              form.get("display_name") or None, teams, form.get("lang") or None,
                                              form.get("timezone") or settings.workspace_timezone))
    except ConfigError as exc:
        raise WebError(400, str(exc)) from None
    return RedirectResponse("/app/admin/users", status_code=303)


@router.post("/admin/users/{user_id}", response_model=None)
async def update_user(user_id: int, request: Request, session: SessionDep, viewer: CurrentUser) -> Any:
    _admin(viewer)
    user = session.get(User, user_id)
    if user is None:
        raise WebError(404, "no such user")
    form = await _form(request)
    try:
        if form.get("role"):
            if user.id == viewer.id and form["role"] != "admin":
                raise ConfigError("you cannot take away your own admin role")
            accounts.set_role(user, form["role"])
        if "teams" in form:
            accounts.set_teams(user, form["teams"].split(","))
        if form.get("password"):
            accounts.set_password(session, user, form["password"])
        if "active" in form and user.id != viewer.id:
            accounts.set_active(user, form["active"] == "1")
    except ConfigError as exc:
        raise WebError(400, str(exc)) from None
    return RedirectResponse("/app/admin/users", status_code=303)


@router.post("/me", response_model=None)
async def save_me(request: Request, session: SessionDep, web: SessionCookie, viewer: CurrentUser) -> Any:
    form = await _form(request)
    user = session.get(User, viewer.id)
    assert user is not None
    lang = form.get("lang") or None
    if lang is not None and lang not in accounts.LANGS:
        raise WebError(400, "language must be en, nl or nb")
    try:
        user.timezone = accounts.check_timezone(form.get("timezone") or user.timezone)
    except ConfigError as exc:
        raise WebError(400, str(exc)) from None
    user.lang = lang
    if form.get("display_name"):
        user.display_name = form["display_name"][:200]
    return RedirectResponse("/app/me", status_code=303)


__all__ = ["router"]

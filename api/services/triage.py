"""Follow-up: the alert queue, alert changes and action items, shared by ``/v1`` and the workspace.

Every change is written to the history with its actor (an API key's name or a workspace username): alert
changes as ``alert_events`` rows (and an ``alert.updated`` webhook), action-item changes as entries in the
item's ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from api.db.models import ActionItem, Alert, AlertEvent, Response
from api.services.queries import Filters
from api.services.store import alert_payload, enqueue
from api.settings import ServiceSettings

LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4}
"""Most severe first."""


@dataclass
class AlertQuery:
    """Which alerts to list: status, routed team (matching the alert's team or its answer's team segment when
    ``team_or_segment``), level, overdue, owner, and the response filters."""

    status: str | None = None
    team: str | None = None
    team_or_segment: bool = False
    level: str | None = None
    overdue: bool | None = None
    open_only: bool = False
    owner: str | None = None
    filters: Filters | None = None


def alert_select(q: AlertQuery, now: datetime) -> Any:
    """A ``select(Alert)`` restricted to ``q``. The conditions on the alert's answer (its team segment and the
    response filters) look that one answer up by its id, as a scalar subquery: the (few) alerts are read first
    and each looks up its answer, rather than every answer that passes a filter (or, on PostgreSQL, every
    answer: an ``EXISTS`` becomes a hash join over the whole table) looking for an alert."""
    query = select(Alert)
    answer = select(Response.id).where(Response.id == Alert.response_id)
    if q.status is not None:
        query = query.where(Alert.status == q.status)
    if q.open_only:
        query = query.where(Alert.status != "resolved")
    if q.team is not None:
        if q.team_or_segment:
            answer = answer.where((Alert.team == q.team) | (Response.team == q.team))
        else:
            query = query.where(Alert.team == q.team)
    if q.level is not None:
        query = query.where(Alert.level == q.level)
    if q.owner is not None:
        query = query.where(Alert.owner == q.owner)
    if q.overdue is True:
        query = query.where(Alert.status != "resolved", Alert.due_at < now)
    elif q.overdue is False:
        query = query.where((Alert.status == "resolved") | (Alert.due_at >= now))
    if q.filters is not None:
        answer = q.filters.apply(answer)
    return query.where(answer.scalar_subquery().is_not(None))  # the answer's id: at most one row


def list_alerts(session: Session, q: AlertQuery, limit: int, offset: int = 0,
                now: datetime | None = None) -> tuple[int, list[Alert]]:
    """``(total, page)`` of the queue: most severe first, then the earliest due time."""
    now = now or datetime.now(UTC)
    query = alert_select(q, now)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    severity = case(LEVEL_ORDER, value=Alert.level, else_=9)
    # the page's answers by id afterwards (not joined into the sort, which PostgreSQL would do by hashing them all)
    page = query.order_by(severity, Alert.due_at, Alert.id).limit(limit).offset(offset).options(selectinload(Alert.response))
    rows = list(session.scalars(page))
    return total, rows


@dataclass
class AlertChange:
    """What to change on an alert; ``None`` leaves a field as it is (``due_at`` only when ``set_due``)."""

    status: str | None = None
    owner: str | None = None
    due_at: datetime | None = None
    set_due: bool = False
    note: str | None = None
    claim: bool = False  # resolving or marking contacted an alert nobody owns makes the actor its owner


def change_alert(session: Session, settings: ServiceSettings, alert: Alert, change: AlertChange, actor: str,
                 now: datetime | None = None) -> list[AlertEvent]:
    """Apply ``change``: each changed field becomes an event by ``actor``, and an ``alert.updated`` webhook is
    queued. Giving a new alert an owner marks it ``assigned``; with ``claim``, resolving or contacting an alert
    nobody owns makes ``actor`` its owner. Returns the new events (none when nothing changed)."""
    now = now or datetime.now(UTC)
    status = change.status
    owner = change.owner
    if change.claim and status in ("contacted", "resolved") and owner is None and alert.owner is None:
        owner = actor
    events: list[AlertEvent] = []
    if owner is not None and owner != alert.owner:
        events.append(AlertEvent(at=now, actor=actor, kind="owner", old=alert.owner, new=owner))
        alert.owner = owner
        if alert.status == "new" and status is None:
            status = "assigned"
    if status is not None and status != alert.status:
        events.append(AlertEvent(at=now, actor=actor, kind="status", old=alert.status, new=status))
        alert.status = status
    if change.set_due and change.due_at is not None:
        events.append(AlertEvent(at=now, actor=actor, kind="due", old=alert.due_at.isoformat(), new=change.due_at.isoformat()))
        alert.due_at = change.due_at
    if change.note:
        events.append(AlertEvent(at=now, actor=actor, kind="note", note=change.note))
    if events:
        alert.events.extend(events)
        alert.updated_at = now
        session.flush()
        enqueue(session, settings, "alert.updated", {**alert_payload(alert),
                                                     "changes": [{"kind": e.kind, "old": e.old, "new": e.new, "note": e.note}
                                                                 for e in events]})
    return events


def create_action_item(session: Session, theme: str, team: str | None, owner: str, actor: str, title: str | None = None,
                       due_at: datetime | None = None, now: datetime | None = None) -> ActionItem:
    """Assign an action point (a theme) to ``owner``; the first note says who assigned it."""
    now = now or datetime.now(UTC)
    item = ActionItem(theme=theme, team=team, title=title, owner=owner, due_at=due_at, status="open", progress=0,
                      notes=[{"at": now.isoformat(), "by": actor, "note": "assigned to " + owner}],
                      created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    return item


@dataclass
class ItemChange:
    """What to change on an action item; ``None`` leaves a field as it is (``due_at`` only when ``set_due``)."""

    owner: str | None = None
    status: str | None = None
    progress: int | None = None
    due_at: datetime | None = None
    set_due: bool = False
    note: str | None = None


def change_action_item(session: Session, item: ActionItem, change: ItemChange, actor: str,
                       now: datetime | None = None) -> int:
    """Apply ``change``, one note per changed field by ``actor``; ``done`` sets progress to 100.
    Returns how many notes were added."""
    now = now or datetime.now(UTC)
    notes = list(item.notes or [])
    before = len(notes)
    for name in ("owner", "status", "progress"):
        value = getattr(change, name)
        if value is not None and value != getattr(item, name):
            notes.append({"at": now.isoformat(), "by": actor, "change": name, "old": getattr(item, name), "new": value})
            setattr(item, name, value)
    if change.set_due and change.due_at != item.due_at:
        item.due_at = change.due_at
        notes.append({"at": now.isoformat(), "by": actor, "change": "due_at", "new": str(item.due_at)})
    if change.status == "done":
        item.progress = 100
    if change.note:
        notes.append({"at": now.isoformat(), "by": actor, "note": change.note})
    item.notes = notes
    item.updated_at = now
    session.flush()
    return len(notes) - before


__all__ = ["LEVEL_ORDER", "AlertChange", "AlertQuery", "ItemChange", "alert_select", "change_action_item", "change_alert",
           "create_action_item", "list_alerts"]

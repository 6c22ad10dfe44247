"""Alerts on urgent answers: list, read with history, update status/owner/due time/notes."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import case, func, select

from api.db.models import Alert, AlertEvent, Response
from api.deps import ReadKey, SessionDep, SettingsDep, TriageKey
from api.errors import ApiError
from api.routers.common import ERRORS, Limit, Name, Offset, RowId
from api.schemas.alerts import AlertListOut, AlertOut, AlertPatch, AlertStatus
from api.services.queries import alert_out
from api.services.store import alert_payload, enqueue

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

_LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "none": 4}


@router.get("", response_model=AlertListOut, responses=ERRORS)
def list_alerts(session: SessionDep, _: ReadKey, status: AlertStatus | None = None, team: Name = None,
                level: Name = None, overdue: bool | None = None, open_only: bool = False,
                limit: Limit = 100, offset: Offset = 0) -> AlertListOut:
    """The urgent queue: most severe first, then oldest due time. ``open_only`` hides resolved alerts."""
    query = select(Alert).join(Response)
    now = datetime.now(UTC)
    if status is not None:
        query = query.where(Alert.status == status)
    if open_only:
        query = query.where(Alert.status != "resolved")
    if team is not None:
        query = query.where(Alert.team == team)
    if level is not None:
        query = query.where(Alert.level == level)
    if overdue is True:
        query = query.where(Alert.status != "resolved", Alert.due_at < now)
    elif overdue is False:
        query = query.where((Alert.status == "resolved") | (Alert.due_at >= now))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    severity = case(_LEVEL_ORDER, value=Alert.level, else_=9)
    rows = session.scalars(query.order_by(severity, Alert.due_at, Alert.id).limit(limit).offset(offset)).all()
    return AlertListOut.model_validate({"total": total, "items": [alert_out(a, now) for a in rows]})


@router.get("/{alert_id}", response_model=AlertOut, responses={**ERRORS, 404: {"description": "unknown alert"}})
def get_alert(alert_id: RowId, session: SessionDep, _: ReadKey) -> AlertOut:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id}")
    return AlertOut.model_validate(alert_out(alert))


@router.patch("/{alert_id}", response_model=AlertOut, responses={**ERRORS, 404: {"description": "unknown alert"}})
def update_alert(alert_id: RowId, body: AlertPatch, session: SessionDep, settings: SettingsDep, caller: TriageKey) -> AlertOut:
    """Change status (new, assigned, contacted, resolved), owner or due time, or add a note. Each change is
    kept in the history and sends ``alert.updated``. Giving a new alert an owner marks it ``assigned``."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id}")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(422, "nothing to change: send status, owner, due_at and/or note")
    now = datetime.now(UTC)
    events: list[AlertEvent] = []
    if body.owner is not None and body.owner != alert.owner:
        events.append(AlertEvent(at=now, actor=caller.name, kind="owner", old=alert.owner, new=body.owner))
        alert.owner = body.owner
        if alert.status == "new" and body.status is None:
            body.status = "assigned"
    if body.status is not None and body.status != alert.status:
        events.append(AlertEvent(at=now, actor=caller.name, kind="status", old=alert.status, new=body.status))
        alert.status = body.status
    if "due_at" in changes and body.due_at is not None:
        due = body.due_at
        events.append(AlertEvent(at=now, actor=caller.name, kind="due", old=alert.due_at.isoformat(), new=due.isoformat()))
        alert.due_at = due
    if body.note:
        events.append(AlertEvent(at=now, actor=caller.name, kind="note", note=body.note))
    if events:
        alert.events.extend(events)
        alert.updated_at = now
        session.flush()
        enqueue(session, settings, "alert.updated", {**alert_payload(alert),
                                                     "changes": [{"kind": e.kind, "old": e.old, "new": e.new, "note": e.note}
                                                                 for e in events]})
    return AlertOut.model_validate(alert_out(alert, now))

"""Alerts on urgent answers: list, read with history, update status/owner/due time/notes."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from api.db.models import Alert
from api.deps import ReadKey, SessionDep, SettingsDep, TriageKey
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Limit, Name, Offset, RowId
from api.schemas.alerts import AlertListOut, AlertOut, AlertPatch, AlertStatus
from api.services import triage
from api.services.queries import alert_out
from api.services.triage import AlertChange, AlertQuery, change_alert

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", response_model=AlertListOut, responses=ERRORS)
def list_alerts(session: SessionDep, _: ReadKey, filters: FiltersDep, status: AlertStatus | None = None, team: Name = None,
                level: Name = None, overdue: bool | None = None, open_only: bool = False, owner: Name = None,
                limit: Limit = 100, offset: Offset = 0) -> AlertListOut:
    """The urgent queue: most severe first, then oldest due time. ``open_only`` hides resolved alerts. ``team`` is
    the team the alert is routed to; the period, segment and language filters apply to the alerts' answers."""
    now = datetime.now(UTC)
    filters.team = None  # the same ``team`` parameter: here the alert's routed team
    query = AlertQuery(status, team, False, level, overdue, open_only, owner, filters)
    total, rows = triage.list_alerts(session, query, limit, offset, now)
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
    change_alert(session, settings, alert, AlertChange(body.status, body.owner, body.due_at, "due_at" in changes, body.note),
                 caller.name, now)
    return AlertOut.model_validate(alert_out(alert, now))

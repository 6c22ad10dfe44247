"""Overdue alerts and follow-up time per team.

:func:`tick` finds alerts past their due time that are not resolved (the same test as an alert's ``overdue``
flag) and not handled before. Each is claimed with a conditional UPDATE of ``overdue_at`` (so two workers or
two processes never handle one twice), gets an ``alert.overdue`` webhook event through the outbox, and is
escalated: its owner becomes the team lead from the routing rules, recorded as an ``escalated`` history entry
(an ``overdue`` entry when there is no lead, or the owner is the lead already). :class:`EscalationWorker` runs
:func:`tick` every ``NPS_ESCALATION_POLL_S`` seconds in the service; tests call :func:`tick` directly.

:func:`followup` measures, per team, the time from an alert's creation to its first ``contacted`` or
``resolved`` status (median and 90th percentile) and the share followed up within the target. Alerts closed
on import (history mode) are left out: nobody followed them up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent
from api.db.session import Database
from api.services import routing
from api.services.store import alert_payload, enqueue
from api.services.tasks import cancel_and_wait
from api.settings import ServiceSettings

log = logging.getLogger("nps_nlp.api.escalation")

CONTACTED: tuple[str, ...] = ("contacted", "resolved")
IMPORTED_NOTE = "imported as history"
"""The note of the status entry of an alert closed on import (``api.services.history``)."""


def _escalate(session: Session, alert: Alert, settings: ServiceSettings, now: datetime) -> bool:
    """Record the escalation of a claimed overdue alert and queue ``alert.overdue``; True when escalated to a lead."""
    lead = routing.lead_for(session, alert)
    escalated = lead is not None and lead != alert.owner
    if escalated:
        alert.events.append(AlertEvent(at=now, actor="escalation", kind="escalated", old=alert.owner, new=lead,
                                       note=f"overdue since {alert.due_at.isoformat()}; escalated to the team lead"))
        alert.owner, alert.escalated_at = lead, now
        if alert.status == "new":
            alert.events.append(AlertEvent(at=now, actor="escalation", kind="status", old="new", new="assigned"))
            alert.status = "assigned"
    else:
        why = "the owner is the team lead already" if lead else f"no team lead for {alert.team or 'unassigned'} in the routing rules"
        alert.events.append(AlertEvent(at=now, actor="escalation", kind="overdue", note=f"overdue; {why}"))
    alert.updated_at = now
    session.flush()
    enqueue(session, settings, "alert.overdue",
            {**alert_payload(alert), "escalation": {"escalated": escalated, "lead": lead, "at": now.isoformat()}})
    return escalated


def tick(db: Database, settings: ServiceSettings, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Handle every alert that became overdue (at most ``limit`` per call); returns ``overdue`` and ``escalated``
    counts of this call."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        ids = list(s.scalars(select(Alert.id).where(Alert.status != "resolved", Alert.due_at < now,
                                                    Alert.overdue_at.is_(None)).order_by(Alert.due_at).limit(limit)))
    counts = {"overdue": 0, "escalated": 0}
    for alert_id in ids:
        with db.session() as s:
            claimed = s.execute(update(Alert).where(Alert.id == alert_id, Alert.overdue_at.is_(None),
                                                    Alert.status != "resolved").values(overdue_at=now))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took it, or it was resolved meanwhile
            alert = s.get(Alert, alert_id)
            assert alert is not None
            counts["overdue"] += 1
            counts["escalated"] += int(_escalate(s, alert, settings, now))
    if counts["overdue"]:
        log.info("overdue alerts", extra=counts)
    return counts


class EscalationWorker:
    """Runs :func:`tick` every ``settings.escalation_poll_s`` seconds (an asyncio task in the service)."""

    def __init__(self, db: Database, settings: ServiceSettings) -> None:
        self.db = db
        self.settings = settings
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="nps-escalation")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def run(self) -> None:
        while True:  # the first pass waits one interval: start-up has enough to do
            await asyncio.sleep(self.settings.escalation_poll_s)
            try:
                await asyncio.to_thread(tick, self.db, self.settings)
            except Exception:
                log.exception("escalation pass failed; retrying")
            self.passes += 1


def _row(team: str, hours: list[float], alerts: int, pending: int, within: int, escalated: int) -> dict[str, Any]:
    judged = alerts - pending
    return {"team": team, "alerts": alerts, "followed_up": len(hours), "within_target": within, "pending": pending,
            "share_within_target": round(within / judged, 4) if judged else None,
            "median_hours": round(float(np.median(hours)), 2) if hours else None,
            "p90_hours": round(float(np.percentile(hours, 90)), 2) if hours else None, "escalated": escalated}


def followup(session: Session, since: datetime | None, until: datetime | None, team: str | None,
             target_hours: float, now: datetime | None = None) -> dict[str, Any]:
    """Per team (and overall): alerts created in ``[since, until)``, hours to first contact (median, p90), how many
    within ``target_hours``, how many still pending (not contacted, inside the target) and escalated."""
    now = now or datetime.now(UTC)
    query = select(Alert.id, Alert.team, Alert.created_at, Alert.escalated_at)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if until is not None:
        query = query.where(Alert.created_at < until)
    if team is not None:
        query = query.where(Alert.team == team)
    alerts = session.execute(query).all()
    ids = [a[0] for a in alerts]
    first: dict[int, datetime] = {}
    imported: set[int] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        first.update(dict(session.execute(select(AlertEvent.alert_id, func.min(AlertEvent.at)).where(
            AlertEvent.alert_id.in_(chunk), AlertEvent.kind == "status", AlertEvent.new.in_(CONTACTED))
            .group_by(AlertEvent.alert_id)).all()))
        imported.update(session.scalars(select(AlertEvent.alert_id).where(AlertEvent.alert_id.in_(chunk),
                                                                          AlertEvent.note == IMPORTED_NOTE)))
    target = timedelta(hours=target_hours)
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {"hours": [], "alerts": 0, "pending": 0, "within": 0, "escalated": 0})
    for alert_id, alert_team, created, escalated_at in alerts:
        if alert_id in imported:
            continue
        for key in (alert_team or "unassigned", ""):  # "": every team together
            row = acc[key]
            row["alerts"] += 1
            row["escalated"] += int(escalated_at is not None)
            contact = first.get(alert_id)
            if contact is not None:
                row["hours"].append((contact - created).total_seconds() / 3600)
                row["within"] += int(contact - created <= target)
            elif created + target > now:
                row["pending"] += 1
    total = acc.pop("", {"hours": [], "alerts": 0, "pending": 0, "within": 0, "escalated": 0})
    items = [_row(t, r["hours"], r["alerts"], r["pending"], r["within"], r["escalated"]) for t, r in sorted(acc.items())]
    return {"target_hours": target_hours, "items": items,
            "overall": _row("all", total["hours"], total["alerts"], total["pending"], total["within"], total["escalated"])}

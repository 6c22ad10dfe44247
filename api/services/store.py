"""Storing responses with their analysis, alerts and outbox events (one transaction per request)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, OutboxEvent, Response, ResponseTheme
from api.schemas.common import analysis_dict
from api.schemas.responses import ResponseIn
from api.settings import SEGMENTS, ServiceSettings

THANK_YOU: dict[str, str] = {
    "en": "Thank you for your kind words! We are glad you are happy with us, and we will share your feedback with the team.",
    "nl": "Hartelijk dank voor uw mooie woorden! Fijn dat u tevreden bent; we delen uw feedback met het team.",
    "nb": "Tusen takk for de hyggelige ordene! Vi er glade for at du er fornøyd, og vi deler tilbakemeldingen med teamet.",
    "nn": "Tusen takk for dei fine orda! Vi er glade for at du er nøgd, og vi deler tilbakemeldinga med teamet.",
}
"""Thank-you texts for promoters, in the answer's language (English for other languages)."""


def thank_you_text(lang: str | None) -> tuple[str, str]:
    """``(language, text)`` of the thank-you message for an answer in ``lang``."""
    code = lang if lang in THANK_YOU else "en"
    return code, THANK_YOU[code]


def existing_ids(session: Session, external_ids: Sequence[str]) -> dict[str, int]:
    """``external_id -> id`` of the ids already stored."""
    found: dict[str, int] = {}
    ids = list(dict.fromkeys(external_ids))
    for i in range(0, len(ids), 500):
        rows = session.execute(select(Response.external_id, Response.id).where(Response.external_id.in_(ids[i:i + 500])))
        found.update({ext: rid for ext, rid in rows})
    return found


def enqueue(session: Session, settings: ServiceSettings, event_type: str, payload: dict[str, Any]) -> list[str]:
    """Queue an event for every webhook receiver (in the caller's transaction). Returns the event ids."""
    ids = []
    now = datetime.now(UTC)
    for url in settings.webhook_urls:
        event_id = str(uuid.uuid4())
        session.add(OutboxEvent(id=event_id, event_type=event_type, target_url=url, next_attempt_at=now,
                                payload={"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": payload}))
        ids.append(event_id)
    return ids


def alert_payload(alert: Alert) -> dict[str, Any]:
    r = alert.response
    return {"alert": {"id": alert.id, "level": alert.level, "reasons": alert.reasons, "team": alert.team,
                      "status": alert.status, "owner": alert.owner, "due_at": alert.due_at.isoformat()},
            "response": {"id": r.id, "external_id": r.external_id, "customer_id": r.customer_id, "score": r.score,
                         "lang": r.lang, "text": r.text, "timestamp": r.timestamp.isoformat()}}


def _alert_team(routing: list[dict[str, Any]]) -> str | None:
    for kind in ("problem", "mention", "praise"):
        for route in routing:
            if route["kind"] == kind:
                return str(route["team"])
    return None


def _add_one(session: Session, item: ResponseIn, answer: Any, model_id: str, settings: ServiceSettings) -> Response:
    data = analysis_dict(answer)
    now = datetime.now(UTC)
    segments = item.segments.model_dump()
    row = Response(external_id=item.external_id, score=item.score, band=data["band"], text=item.text, lang=data["lang"],
                   timestamp=item.timestamp or now, customer_id=item.customer_id,
                   sentiment=data["sentiment"], sentiment_score=data["sentiment_score"],
                   urgency_level=data["urgency"]["level"], urgent=bool(data["urgency"]["urgent"]), analysis=data,
                   model_id=model_id, created_at=now, **{k: segments.get(k) for k in SEGMENTS})
    kinds = {(r["theme"]): (r["team"], r["kind"]) for r in data["routing"]}
    row.themes = [ResponseTheme(theme=t["theme"], sentiment=t["sentiment"], confidence=t["confidence"],
                                team=kinds.get(t["theme"], ("unassigned", "mention"))[0],
                                kind=kinds.get(t["theme"], ("unassigned", "mention"))[1]) for t in data["themes"]]
    session.add(row)
    session.flush()
    if row.urgent:
        alert = Alert(response=row, response_id=row.id, level=row.urgency_level, reasons=data["urgency"]["reasons"],
                      team=_alert_team(data["routing"]), status="new", due_at=now + timedelta(hours=settings.alert_due_hours),
                      created_at=now, updated_at=now)
        alert.events = [AlertEvent(at=now, actor="system", kind="created", new="new",
                                   note=", ".join(r["code"] for r in data["urgency"]["reasons"]))]
        session.add(alert)
        session.flush()
        enqueue(session, settings, "alert.created", alert_payload(alert))
    if settings.thank_promoters and row.band == "promoter":
        lang, text = thank_you_text(row.lang)
        enqueue(session, settings, "promoter.thank_you",
                {"response": {"id": row.id, "external_id": row.external_id, "customer_id": row.customer_id,
                              "score": row.score, "lang": row.lang},
                 "message": {"lang": lang, "text": text}})
    return row


def store(session: Session, items: Sequence[ResponseIn], answers: Sequence[Any], model_id: str,
          settings: ServiceSettings) -> list[tuple[str, int]]:
    """Store analysed responses; returns ``(status, id)`` per item: ``created`` or ``duplicate``.

    Runs in the caller's transaction. If a concurrent request stored one of the ids meanwhile, the unique
    constraint catches it and that item becomes a ``duplicate`` (each item gets its own savepoint then).
    """
    try:
        with session.begin_nested():
            rows = [_add_one(session, item, answer, model_id, settings) for item, answer in zip(items, answers, strict=True)]
        return [("created", row.id) for row in rows]
    except IntegrityError:
        pass
    out = []
    for item, answer in zip(items, answers, strict=True):
        try:
            with session.begin_nested():
                row = _add_one(session, item, answer, model_id, settings)
            out.append(("created", row.id))
        except IntegrityError:
            rid = existing_ids(session, [item.external_id]).get(item.external_id)
            out.append(("duplicate", rid or 0))
    return out

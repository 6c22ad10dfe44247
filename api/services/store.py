"""Storing responses with their analysis, alerts and outbox events (one transaction per request).

A response's *content* is what the sender says (score, text, timestamp, customer id, segments); a re-send with the
same ``external_id`` is a ``duplicate`` when its content is the same and a ``conflict`` naming the differing
fields when not. :func:`correct` replaces the content of a stored response, re-tags it and keeps an audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, OutboxEvent, Response, ResponseEvent, ResponseTheme
from api.schemas.common import analysis_dict
from api.schemas.responses import ResponseIn
from api.services import history, quarantine, routing
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


CONTENT_FIELDS: tuple[str, ...] = ("score", "text", "timestamp", "customer_id", "account_id", *SEGMENTS)
"""What the sender says about a response; the rest (language, themes, urgency) is computed from it."""


class Outcome(NamedTuple):
    """What happened to one item: ``created``, ``duplicate`` or ``conflict`` (with the fields that differ)."""

    status: str
    id: int
    fields: list[str] = []  # noqa: RUF012 (a NamedTuple default, never mutated)


def item_content(item: ResponseIn) -> dict[str, Any]:
    segments = item.segments.model_dump()
    return {"score": item.score, "text": item.text, "timestamp": item.timestamp, "customer_id": item.customer_id,
            "account_id": item.account_id, **{k: segments.get(k) for k in SEGMENTS}}


def content_diff(item: ResponseIn, stored: dict[str, Any]) -> list[str]:
    """The content fields in which ``item`` differs from ``stored``; a timestamp left out differs from nothing."""
    sent = item_content(item)
    return [f for f in CONTENT_FIELDS if not (f == "timestamp" and sent[f] is None) and sent[f] != stored.get(f)]


def existing(session: Session, external_ids: Sequence[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """``external_id -> (id, content)`` of the ids already stored."""
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    ids = list(dict.fromkeys(external_ids))
    columns = [getattr(Response, f) for f in CONTENT_FIELDS]
    for i in range(0, len(ids), 500):
        rows = session.execute(select(Response.external_id, Response.id, *columns)
                               .where(Response.external_id.in_(ids[i:i + 500])))
        found.update({ext: (rid, dict(zip(CONTENT_FIELDS, values, strict=True))) for ext, rid, *values in rows})
    return found


def existing_ids(session: Session, external_ids: Sequence[str]) -> dict[str, int]:
    """``external_id -> id`` of the ids already stored."""
    return {ext: rid for ext, (rid, _) in existing(session, external_ids).items()}


def outcome_of_known(item: ResponseIn, known: tuple[int, dict[str, Any]]) -> Outcome:
    """``duplicate`` or ``conflict`` for an item whose id is stored as ``known``."""
    rid, content = known
    diff = content_diff(item, content)
    return Outcome("conflict", rid, diff) if diff else Outcome("duplicate", rid)


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


def _fill(row: Response, item: ResponseIn, data: dict[str, Any], model_id: str, now: datetime) -> None:
    """Set a row's content from ``item`` (a timestamp left out keeps the stored one, else now) and its analysis."""
    content = item_content(item)
    content["timestamp"] = content["timestamp"] or row.timestamp or now
    for name, value in content.items():
        setattr(row, name, value)
    set_analysis(row, data, model_id)


def set_analysis(row: Response, data: dict[str, Any], model_id: str) -> None:
    """Set a row's analysis (band, language, sentiment, urgency, themes) and the model that made it."""
    row.band, row.lang, row.sentiment, row.sentiment_score = data["band"], data["lang"], data["sentiment"], data["sentiment_score"]
    row.urgency_level, row.urgent = data["urgency"]["level"], bool(data["urgency"]["urgent"])
    row.analysis, row.model_id = data, model_id
    kinds = {(r["theme"]): (r["team"], r["kind"]) for r in data["routing"]}
    row.themes = [ResponseTheme(theme=t["theme"], sentiment=t["sentiment"], confidence=t["confidence"],
                                team=kinds.get(t["theme"], ("unassigned", "mention"))[0],
                                kind=kinds.get(t["theme"], ("unassigned", "mention"))[1]) for t in data["themes"]]


def _open_alert(session: Session, row: Response, data: dict[str, Any], settings: ServiceSettings, now: datetime,
                actor: str = "system", policy: history.AlertPolicy = "open") -> Alert:
    alert = Alert(response=row, response_id=row.id, level=row.urgency_level, reasons=data["urgency"]["reasons"],
                  team=_alert_team(data["routing"]), status="new", due_at=now + timedelta(hours=settings.alert_due_hours),
                  created_at=now, updated_at=now)
    alert.events = [AlertEvent(at=now, actor=actor, kind="created", new="new",
                               note=", ".join(r["code"] for r in data["urgency"]["reasons"]))]
    routing.assign(session, alert, row, data, now)  # team and owner from the routing rules
    if policy == "closed":  # an old answer imported as history: on record, already resolved, nobody notified
        history.close_as_history(alert, now)
    session.add(alert)
    session.flush()
    if policy == "open":
        enqueue(session, settings, "alert.created", alert_payload(alert))
    return alert


def _add_one(session: Session, item: ResponseIn, answer: Any, model_id: str, settings: ServiceSettings,
             breach: str | None = None, mode: history.Mode = "live") -> Response:
    data = analysis_dict(answer)
    now = datetime.now(UTC)
    row = Response(external_id=item.external_id, created_at=now, quarantine_breach=breach)
    _fill(row, item, data, model_id, now)
    session.add(row)
    session.flush()
    policy = history.alert_policy(row.timestamp, mode, settings, now)
    if row.urgent and policy != "skip":
        _open_alert(session, row, data, settings, now, policy=policy)
    if history.thank_you_due(row.score, row.text, row.timestamp, mode, settings, now):
        lang, text = thank_you_text(row.lang)
        enqueue(session, settings, "promoter.thank_you",
                {"response": {"id": row.id, "external_id": row.external_id, "customer_id": row.customer_id,
                              "score": row.score, "lang": row.lang},
                 "message": {"lang": lang, "text": text}})
    return row


def store(session: Session, items: Sequence[ResponseIn], answers: Sequence[Any], model_id: str,
          settings: ServiceSettings, mode: history.Mode = "live") -> list[Outcome]:
    """Store analysed responses; one :class:`Outcome` per item: ``created``, or ``duplicate``/``conflict``.
    Answers collected against the contact rules get ``quarantine_breach``; ``mode="history"`` sends no thank-you
    and closes (or skips) alerts of old answers (:mod:`api.services.history`).

    Runs in the caller's transaction. If a concurrent request stored one of the ids meanwhile, the unique
    constraint catches it and that item is compared with the stored one (each item gets its own savepoint then).
    """
    flags = quarantine.breaches(session, settings, items, datetime.now(UTC))
    try:
        with session.begin_nested():
            rows = [_add_one(session, item, answer, model_id, settings, flag, mode)
                    for item, answer, flag in zip(items, answers, flags, strict=True)]
        return [Outcome("created", row.id) for row in rows]
    except IntegrityError:
        pass
    out = []
    for item, answer, flag in zip(items, answers, flags, strict=True):
        try:
            with session.begin_nested():
                row = _add_one(session, item, answer, model_id, settings, flag, mode)
            out.append(Outcome("created", row.id))
        except IntegrityError:
            known = existing(session, [item.external_id]).get(item.external_id)
            out.append(outcome_of_known(item, known) if known else Outcome("duplicate", 0))
    return out


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def correct(session: Session, row: Response, item: ResponseIn, answer: Any, model_id: str, fields: list[str],
            actor: str, settings: ServiceSettings) -> Response:
    """Replace a stored response's content with ``item`` and its analysis with ``answer``, keeping the old values of
    ``fields`` in an audit entry. Its alert follows: opened when the answer became urgent, else updated with a
    ``corrected`` history entry (and ``alert.updated`` sent); NPS and feeds read the stored rows, so they follow."""
    now = datetime.now(UTC)
    old = {f: _jsonable(getattr(row, f)) for f in fields}
    old["urgency_level"] = row.urgency_level
    data = analysis_dict(answer)
    _fill(row, item, data, model_id, now)
    session.add(ResponseEvent(response_id=row.id, at=now, actor=actor, kind="corrected",
                              changes={"fields": fields, "old": old, "model_id": model_id}))
    session.flush()
    alert = session.scalar(select(Alert).where(Alert.response_id == row.id))
    if alert is None:
        if row.urgent:
            _open_alert(session, row, data, settings, now, actor)
        return row
    if row.urgent:
        alert.level, alert.reasons, alert.team = row.urgency_level, data["urgency"]["reasons"], _alert_team(data["routing"])
    note = f"response corrected ({', '.join(fields)}); urgency now {row.urgency_level}"
    event = AlertEvent(at=now, actor=actor, kind="corrected", old=old["urgency_level"], new=row.urgency_level, note=note)
    alert.events.append(event)
    alert.updated_at = now
    session.flush()
    enqueue(session, settings, "alert.updated", {**alert_payload(alert), "changes": [
        {"kind": event.kind, "old": event.old, "new": event.new, "note": event.note}]})
    return row

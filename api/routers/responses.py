"""Ingest survey responses (single and bulk, idempotent by ``external_id``) and read them back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Alert, Response, ResponseEvent
from api.deps import BatcherDep, IngestKey, ReadKey, SessionDep, StateDep
from api.errors import ApiError, describe_errors
from api.routers.common import ERRORS, FiltersDep, Limit, Offset, check_batch
from api.schemas.common import ErrorOut, short, text_problem
from api.schemas.responses import BulkIn, BulkOut, CorrectionOut, IngestOut, ResponseIn, ResponseListOut, ResponseOut
from api.services import store
from api.services.batcher import Item
from api.services.history import Mode
from api.services.queries import response_out

router = APIRouter(prefix="/v1/responses", tags=["responses"])

ExternalId = Annotated[str, Path(min_length=1, max_length=200, description="the response's external_id")]


def _conflict_message(fields: list[str]) -> str:
    return (f"stored before with other content ({', '.join(fields)} differ); to correct it, send it with "
            "PUT /v1/responses/{external_id}")


async def _ingest(state: Any, batcher: Any, items: list[ResponseIn], *, bulk: bool = False,
                  mode: Mode = "live") -> list[store.Outcome]:
    """Classify the items not stored yet and store them; an :class:`~api.services.store.Outcome` per item. An id
    stored before (or earlier in the request) is a ``duplicate`` with the same content, else a ``conflict``.
    ``bulk`` work waits behind real-time requests in the micro-batcher."""
    def lookup() -> dict[str, tuple[int, dict[str, Any]]]:
        with state.db.session() as s:
            return store.existing(s, [i.external_id for i in items])

    known = await run_in_threadpool(lookup)
    fresh: list[int] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.external_id not in known and item.external_id not in first:
            fresh.append(i)
            first[item.external_id] = i
    answers, model_id = await batcher.analyze([Item(items[i].text, items[i].score, items[i].lang) for i in fresh],
                                              bulk=bulk)

    def write() -> list[store.Outcome]:
        with state.db.session() as s:
            return store.store(s, [items[i] for i in fresh], answers, model_id, state.settings, mode)

    stored = dict(zip(fresh, await run_in_threadpool(write), strict=True))
    state.metrics.alerts.inc(sum(1 for k, i in enumerate(fresh) if stored[i].status == "created" and answers[k].urgency.urgent))
    out = []
    for i, item in enumerate(items):
        if i in stored:
            out.append(stored[i])
        elif item.external_id in known:
            out.append(store.outcome_of_known(item, known[item.external_id]))
        else:  # repeated inside this request: compare with its first occurrence
            j = first[item.external_id]
            diff = store.content_diff(item, store.item_content(items[j]))
            out.append(store.Outcome("conflict" if diff else "duplicate", stored[j].id, diff))
    for outcome in out:
        state.metrics.ingested.labels(outcome.status).inc()
    return out


def _text_problem(item: ResponseIn, max_chars: int) -> str | None:
    if len(item.text) > max_chars:
        return f"text: {len(item.text)} characters is over the limit of {max_chars} (NPS_MAX_TEXT_CHARS)"
    return None


def _read(state: Any, rid: int, history: bool = False) -> dict[str, Any]:
    with state.db.session() as s:
        row = s.get(Response, rid)
        if row is None:
            raise ApiError(404, f"no response {rid}")
        return _out(s, row, history)


def _out(session: Session, row: Response, history: bool) -> dict[str, Any]:
    data = response_out(row, session.scalar(select(Alert.id).where(Alert.response_id == row.id)))
    if history:
        events = session.scalars(select(ResponseEvent).where(ResponseEvent.response_id == row.id).order_by(ResponseEvent.id))
        data["history"] = [{"at": e.at, "actor": e.actor, "kind": e.kind, "changes": e.changes} for e in events]
    return data


@router.post("", response_model=IngestOut, status_code=201,
             responses={**ERRORS, 200: {"description": "already stored with the same content", "model": IngestOut},
                        409: {"description": "already stored with other content (`problems` names the fields)",
                              "model": ErrorOut}})
async def ingest_one(body: ResponseIn, state: StateDep, batcher: BatcherDep, _: IngestKey) -> Any:
    """Store one response: classified, with an alert when urgent. 201 when created, 200 when the
    ``external_id`` was stored before with the same content (nothing changes), 409 when with other content."""
    problem = _text_problem(body, state.settings.max_text_chars)
    if problem:
        raise ApiError(422, "answer text too long", [problem])
    outcome, = await _ingest(state, batcher, [body])
    if outcome.status == "conflict":
        raise ApiError(409, f"response {short(body.external_id)} was {_conflict_message(outcome.fields)}",
                       [f"{f}: differs from the stored response" for f in outcome.fields])
    data = IngestOut.model_validate({"status": outcome.status, "response": await run_in_threadpool(_read, state, outcome.id)})
    return JSONResponse(data.model_dump(mode="json"), status_code=201 if outcome.status == "created" else 200)


@router.post("/bulk", response_model=BulkOut, responses={**ERRORS, 413: {"description": "too many responses"}})
async def ingest_bulk(body: BulkIn, state: StateDep, batcher: BatcherDep, _: IngestKey,
                      mode: Annotated[Mode, Query(description="history: an import of past answers (no thank-yous; "
                                                  "alerts of answers older than NPS_HISTORY_ALERT_AGE_DAYS created "
                                                  "resolved, or none)")] = "live") -> BulkOut:
    """Store many responses. Each item gets its own status (``created``, ``duplicate``, ``conflict`` with the
    differing fields, or ``error`` with the reason); a bad item never loses the good ones. Always 200 for a
    well-formed request. ``mode=history`` imports past answers without thank-yous or stale alerts."""
    settings = state.settings
    check_batch(len(body.responses), settings.max_bulk, "responses", "NPS_MAX_BULK")
    results: list[dict[str, Any]] = []
    valid: list[tuple[int, ResponseIn]] = []
    for i, raw in enumerate(body.responses):
        ext = raw.get("external_id") if isinstance(raw, dict) else None
        try:
            item = ResponseIn.model_validate(raw)
        except ValidationError as exc:
            shown = ext if isinstance(ext, str) and ext and len(ext) <= 200 and not text_problem(ext) else None
            results.append({"index": i, "external_id": shown, "status": "error",
                            "error": "; ".join(describe_errors(exc.errors()))})
            continue
        problem = _text_problem(item, settings.max_text_chars)
        if problem:
            results.append({"index": i, "external_id": item.external_id, "status": "error", "error": problem})
            continue
        valid.append((i, item))
    if valid:
        outcomes = await _ingest(state, batcher, [item for _, item in valid], bulk=True, mode=mode)
        for (i, item), o in zip(valid, outcomes, strict=True):
            results.append({"index": i, "external_id": item.external_id, "status": o.status, "id": o.id,
                            "error": _conflict_message(o.fields) if o.status == "conflict" else None})
    state.metrics.ingested.labels("error").inc(sum(1 for r in results if r["status"] == "error"))
    results.sort(key=lambda r: r["index"])
    count = {status: sum(r["status"] == status for r in results) for status in ("created", "duplicate", "conflict", "error")}
    return BulkOut.model_validate({"results": results, "created": count["created"], "duplicates": count["duplicate"],
                                   "conflicts": count["conflict"], "errors": count["error"]})


@router.get("", response_model=ResponseListOut, responses=ERRORS)
def list_responses(session: SessionDep, filters: FiltersDep, _: ReadKey,
                   limit: Limit = 100, offset: Offset = 0,
                   urgent: bool | None = None) -> ResponseListOut:
    """Stored responses, newest first, filtered by time window and segments."""
    query = filters.apply(select(Response))
    if urgent is not None:
        query = query.where(Response.urgent == urgent)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Response.timestamp.desc(), Response.id.desc()).limit(limit).offset(offset)).all()
    alert_ids = dict(session.execute(select(Alert.response_id, Alert.id).where(Alert.response_id.in_([r.id for r in rows]))).all())
    return ResponseListOut.model_validate({"total": total, "items": [response_out(r, alert_ids.get(r.id)) for r in rows]})


@router.get("/{external_id:path}", response_model=ResponseOut, responses={**ERRORS, 404: {"description": "unknown id"}})
def get_response(external_id: ExternalId, session: SessionDep, _: ReadKey) -> ResponseOut:
    """One stored response by its external id (which may hold ``/``), with its corrections in ``history``."""
    row = session.scalar(select(Response).where(Response.external_id == external_id))
    if row is None:
        raise ApiError(404, f"no response with external_id {short(external_id)}")
    return ResponseOut.model_validate(_out(session, row, history=True))


@router.put("/{external_id:path}", response_model=CorrectionOut,
            responses={**ERRORS, 404: {"description": "unknown id"}})
async def correct_response(external_id: ExternalId, body: ResponseIn, state: StateDep, batcher: BatcherDep,
                           caller: IngestKey) -> CorrectionOut:
    """Correct a stored response: send it again, as for ingest, with the right content. It is re-tagged, its alert
    opened or updated (``alert.updated`` is sent), NPS follows, and the old values are kept in its ``history``.
    A timestamp left out keeps the stored one. ``unchanged`` when the content is the same."""
    if body.external_id != external_id:
        raise ApiError(422, "the external_id in the body differs from the one in the address",
                       [f"external_id: {short(body.external_id)} in the body, {short(external_id)} in the address"])
    problem = _text_problem(body, state.settings.max_text_chars)
    if problem:
        raise ApiError(422, "answer text too long", [problem])

    def lookup() -> tuple[int, dict[str, Any]] | None:
        with state.db.session() as s:
            return store.existing(s, [external_id]).get(external_id)

    known = await run_in_threadpool(lookup)
    if known is None:
        raise ApiError(404, f"no response with external_id {short(external_id)}; store it with POST /v1/responses")
    fields = store.content_diff(body, known[1])
    if not fields:
        return CorrectionOut.model_validate({"status": "unchanged", "changed": [],
                                             "response": await run_in_threadpool(_read, state, known[0], True)})
    answers, model_id = await batcher.analyze([Item(body.text, body.score, body.lang)])

    def write() -> dict[str, Any]:
        with state.db.session() as s:
            row = s.get(Response, known[0])
            if row is None:
                raise ApiError(404, f"no response with external_id {short(external_id)}")
            store.correct(s, row, body, answers[0], model_id, fields, caller.name, state.settings)
            return _out(s, row, history=True)

    return CorrectionOut.model_validate({"status": "corrected", "changed": fields, "response": await run_in_threadpool(write)})

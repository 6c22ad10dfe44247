"""Ingest survey responses (single and bulk, idempotent by ``external_id``) and read them back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select

from api.db.models import Alert, Response
from api.deps import BatcherDep, IngestKey, ReadKey, SessionDep, StateDep
from api.errors import ApiError, describe_errors
from api.routers.common import ERRORS, FiltersDep, check_batch
from api.schemas.responses import BulkIn, BulkOut, IngestOut, ResponseIn, ResponseListOut, ResponseOut
from api.services import store
from api.services.batcher import Item
from api.services.queries import response_out

router = APIRouter(prefix="/v1/responses", tags=["responses"])


async def _ingest(state: Any, batcher: Any, items: list[ResponseIn], *, bulk: bool = False) -> list[tuple[str, int]]:
    """Classify the items not stored yet and store them; ``(status, id)`` per item. ``bulk`` work waits behind
    real-time requests in the micro-batcher."""
    def lookup() -> dict[str, int]:
        with state.db.session() as s:
            return store.existing_ids(s, [i.external_id for i in items])

    known = await run_in_threadpool(lookup)
    fresh: list[int] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.external_id not in known and item.external_id not in seen:
            fresh.append(i)
            seen.add(item.external_id)
    answers, model_id = await batcher.analyze([Item(items[i].text, items[i].score, items[i].lang) for i in fresh],
                                              bulk=bulk)

    def write() -> list[tuple[str, int]]:
        with state.db.session() as s:
            return store.store(s, [items[i] for i in fresh], answers, model_id, state.settings)

    stored = dict(zip(fresh, await run_in_threadpool(write), strict=True))
    alerts = sum(1 for k, i in enumerate(fresh) if stored[i][0] == "created" and answers[k].urgency.urgent)
    state.metrics.alerts.inc(alerts)
    ids = {items[i].external_id: rid for i, (status, rid) in stored.items()}
    out = []
    for i, item in enumerate(items):
        if i in stored:
            out.append(stored[i])
        else:
            out.append(("duplicate", known.get(item.external_id) or ids.get(item.external_id, 0)))
    for status, _ in out:
        state.metrics.ingested.labels(status).inc()
    return out


def _text_problem(item: ResponseIn, max_chars: int) -> str | None:
    if len(item.text) > max_chars:
        return f"text: {len(item.text)} characters is over the limit of {max_chars} (NPS_MAX_TEXT_CHARS)"
    return None


@router.post("", response_model=IngestOut, status_code=201,
             responses={**ERRORS, 200: {"description": "already stored (same external_id)", "model": IngestOut}})
async def ingest_one(body: ResponseIn, state: StateDep, batcher: BatcherDep, _: IngestKey) -> Any:
    """Store one response: classified, with an alert when urgent. 201 when created, 200 when the
    ``external_id`` was stored before (nothing changes)."""
    problem = _text_problem(body, state.settings.max_text_chars)
    if problem:
        raise ApiError(422, "answer text too long", [problem])
    (status, rid), = await _ingest(state, batcher, [body])

    def read() -> dict[str, Any]:
        with state.db.session() as s:
            row = s.get(Response, rid)
            assert row is not None
            alert_id = s.scalar(select(Alert.id).where(Alert.response_id == rid))
            return response_out(row, alert_id)

    data = IngestOut.model_validate({"status": status, "response": await run_in_threadpool(read)})
    return JSONResponse(data.model_dump(mode="json"), status_code=201 if status == "created" else 200)


@router.post("/bulk", response_model=BulkOut, responses={**ERRORS, 413: {"description": "too many responses"}})
async def ingest_bulk(body: BulkIn, state: StateDep, batcher: BatcherDep, _: IngestKey) -> BulkOut:
    """Store many responses. Each item gets its own status (``created``, ``duplicate`` or ``error`` with the
    reason); a bad item never loses the good ones. Always 200 for a well-formed request."""
    settings = state.settings
    check_batch(len(body.responses), settings.max_bulk, "responses", "NPS_MAX_BULK")
    results: list[dict[str, Any]] = []
    valid: list[tuple[int, ResponseIn]] = []
    for i, raw in enumerate(body.responses):
        ext = raw.get("external_id") if isinstance(raw, dict) else None
        try:
            item = ResponseIn.model_validate(raw)
        except ValidationError as exc:
            results.append({"index": i, "external_id": str(ext) if ext is not None else None, "status": "error",
                            "error": "; ".join(describe_errors(exc.errors()))})
            continue
        problem = _text_problem(item, settings.max_text_chars)
        if problem:
            results.append({"index": i, "external_id": item.external_id, "status": "error", "error": problem})
            continue
        valid.append((i, item))
    if valid:
        outcomes = await _ingest(state, batcher, [item for _, item in valid], bulk=True)
        for (i, item), (status, rid) in zip(valid, outcomes, strict=True):
            results.append({"index": i, "external_id": item.external_id, "status": status, "id": rid})
    state.metrics.ingested.labels("error").inc(sum(1 for r in results if r["status"] == "error"))
    results.sort(key=lambda r: r["index"])
    return BulkOut.model_validate({
        "results": results, "created": sum(r["status"] == "created" for r in results),
        "duplicates": sum(r["status"] == "duplicate" for r in results), "errors": sum(r["status"] == "error" for r in results)})


@router.get("", response_model=ResponseListOut, responses=ERRORS)
def list_responses(session: SessionDep, filters: FiltersDep, _: ReadKey,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
                   urgent: bool | None = None) -> ResponseListOut:
    """Stored responses, newest first, filtered by time window and segments."""
    query = filters.apply(select(Response))
    if urgent is not None:
        query = query.where(Response.urgent == urgent)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Response.timestamp.desc(), Response.id.desc()).limit(limit).offset(offset)).all()
    alert_ids = dict(session.execute(select(Alert.response_id, Alert.id).where(Alert.response_id.in_([r.id for r in rows]))).all())
    return ResponseListOut.model_validate({"total": total, "items": [response_out(r, alert_ids.get(r.id)) for r in rows]})


@router.get("/{external_id}", response_model=ResponseOut, responses={**ERRORS, 404: {"description": "unknown id"}})
def get_response(external_id: str, session: SessionDep, _: ReadKey) -> ResponseOut:
    """One stored response by its external id."""
    row = session.scalar(select(Response).where(Response.external_id == external_id))
    if row is None:
        raise ApiError(404, f"no response with external_id {external_id!r}")
    alert_id = session.scalar(select(Alert.id).where(Alert.response_id == row.id))
    return ResponseOut.model_validate(response_out(row, alert_id))

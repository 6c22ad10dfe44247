"""Models (active, reload), health and readiness probes, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import AdminKey, ModelDep, ReadKey, StateDep
from api.errors import ApiError
from api.routers.common import ERRORS
from api.schemas.system import ActiveModelOut, HealthOut
from api.services.models import LoadedModel

router = APIRouter(tags=["system"])


def _model_out(model: LoadedModel) -> ActiveModelOut:
    classifier = getattr(model.pipeline, "classifier", None)
    return ActiveModelOut(id=model.model_id, source=model.source, path=str(model.path) if model.path else None,
                          loaded_at=model.loaded_at, labels=list(getattr(classifier, "labels_", []) or []) or None,
                          card=model.card(), metrics=model.metrics())


@router.get("/v1/models/active", response_model=ActiveModelOut, responses=ERRORS)
def active_model(model: ModelDep, _: ReadKey) -> ActiveModelOut:
    """The served model: id, where it came from, its card (README.md) and metrics (metrics.json)."""
    return _model_out(model)


@router.post("/v1/models/reload", response_model=ActiveModelOut, responses={**ERRORS, 503: {"description": "load failed"}})
async def reload_model(state: StateDep, _: AdminKey) -> ActiveModelOut:
    """Load the model that should be active now (``NPS_MODEL`` or the registry's promoted model) next to the
    current one and swap it in; requests in flight finish on the old model."""
    try:
        loaded = await run_in_threadpool(state.models.load)
    except Exception as exc:
        raise ApiError(503, f"reload failed, still serving {state.models.current.model_id}: {exc}") from None
    state.metrics.reloads.inc()
    state.metrics.set_model(loaded.model_id)
    return _model_out(loaded)


@router.get("/healthz", response_model=HealthOut)
def health() -> HealthOut:
    """Liveness: the process answers."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def ready(state: StateDep) -> JSONResponse:
    """Readiness: the model is loaded and the database answers."""
    checks = {"model": "ok" if state.models.ready else "loading"}
    try:
        state.db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # report, do not raise: this is a probe
        checks["database"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(HealthOut(status="ok" if ok else "unavailable", checks=checks).model_dump(),
                        status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics(state: StateDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

"""Re-tag stored answers with the served model, in the background, with progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from api.db.models import RetagJob
from api.deps import AdminKey, ModelDep, ReadKey, SessionDep, StateDep
from api.errors import ApiError
from api.routers.common import ERRORS, RowId
from api.schemas.common import short
from api.schemas.retag import RetagIn, RetagJobOut, RetagJobsOut
from api.services import retag
from api.services.retag import RetagRunner

router = APIRouter(prefix="/v1/retag", tags=["retag"])


def job_out(job: RetagJob) -> dict[str, Any]:
    return {"id": job.id, "model_id": job.model_id, "status": job.status, "only_other_models": job.only_other_models,
            "total": job.total, "done": job.done, "progress": round(job.done / job.total, 4) if job.total else 1.0,
            "changed": job.changed, "alerts_opened": job.alerts_opened, "alerts_cleared": job.alerts_cleared,
            "cursor": job.cursor, "error": job.error, "created_by": job.created_by, "created_at": job.created_at,
            "updated_at": job.updated_at, "finished_at": job.finished_at}


def _runner(request: Request) -> RetagRunner:
    runner: RetagRunner | None = getattr(request.app.state, "retag", None)
    if runner is None:
        raise ApiError(503, "the service is starting up; retry in a moment")
    return runner


@router.post("", response_model=RetagJobOut, status_code=202,
             responses={**ERRORS, 409: {"description": "another job runs, or the model is not the served one"}})
async def start_retag(body: RetagIn, request: Request, state: StateDep, model: ModelDep, caller: AdminKey) -> RetagJobOut:
    """Re-tag the stored answers with the served model in the background (answers already tagged by it are left
    out unless ``all``). Returns the job at once; follow it at ``GET /v1/retag/{id}``. Ingest keeps priority."""
    if body.model_id is not None and body.model_id != model.model_id:
        raise ApiError(409, f"model {short(body.model_id)} is not the served model ({model.model_id}); promote it "
                            "with `nps-nlp models promote` and wait for the service to load it")
    runner = _runner(request)

    def create() -> dict[str, Any]:
        with state.db.session() as s:
            return job_out(retag.create_job(s, model.model_id, not body.all, caller.name))

    out = await run_in_threadpool(create)
    runner.start(out["id"])
    return RetagJobOut.model_validate(out)


@router.get("", response_model=RetagJobsOut, responses=ERRORS)
def list_jobs(session: SessionDep, _: ReadKey) -> RetagJobsOut:
    """The re-tagging jobs, newest first (at most 50)."""
    jobs = session.scalars(select(RetagJob).order_by(RetagJob.id.desc()).limit(50))
    return RetagJobsOut.model_validate({"items": [job_out(j) for j in jobs]})


@router.get("/{job_id}", response_model=RetagJobOut, responses={**ERRORS, 404: {"description": "unknown job"}})
def get_job(job_id: RowId, session: SessionDep, _: ReadKey) -> RetagJobOut:
    """A re-tagging job's progress."""
    job = session.get(RetagJob, job_id)
    if job is None:
        raise ApiError(404, f"no re-tagging job {job_id}")
    return RetagJobOut.model_validate(job_out(job))


@router.post("/{job_id}/cancel", response_model=RetagJobOut, responses={**ERRORS, 404: {"description": "unknown job"}})
def cancel_job(job_id: RowId, session: SessionDep, _: AdminKey) -> RetagJobOut:
    """Stop a running job after its current batch; the answers done keep their new tags."""
    return RetagJobOut.model_validate(job_out(retag.cancel(session, job_id)))

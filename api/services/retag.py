"""Re-tagging stored answers in the background after a model is promoted.

A job (a ``retag_jobs`` row) walks the stored responses in id order, in small batches: each batch is analysed
through the micro-batcher's bulk lane (behind every real-time request) and written in its own short transaction,
which also moves the job's ``cursor`` to the batch's last id. A restarted service resumes every ``running`` job from
its cursor. Per answer the analysis, themes, urgency and ``model_id`` are replaced and a ``retagged`` response event
says from which model to which; NPS and action points read the stored rows, so they follow. An answer that became
urgent gets an alert by the history-mode age rule (:func:`api.services.history.alert_policy`); an alert whose answer
is no longer urgent is kept, with a ``retagged`` event saying so.

One service process runs the jobs (several processes on one database would each resume the same job).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Alert, AlertEvent, Response, ResponseEvent, RetagJob
from api.errors import ApiError
from api.schemas.common import analysis_dict
from api.services import history, store
from api.services.batcher import Item

log = logging.getLogger("nps_nlp.api.retag")

FINISHED = ("done", "failed", "superseded", "cancelled")


@dataclass(frozen=True)
class _Snapshot:
    """A response as it was read for analysis (a correction in between makes the write skip it)."""

    id: int
    text: str
    score: int
    lang: str | None


def _todo(job: RetagJob) -> Any:
    query = select(Response).where(Response.id > job.cursor)
    if job.only_other_models:
        query = query.where((Response.model_id != job.model_id) | Response.model_id.is_(None))
    return query


def create_job(session: Session, model_id: str, only_other_models: bool, actor: str) -> RetagJob:
    """A new ``running`` job for ``model_id``; 409 while another job runs."""
    running = session.scalar(select(RetagJob).where(RetagJob.status == "running"))
    if running is not None:
        raise ApiError(409, f"re-tagging job {running.id} is still running ({running.done} of {running.total} done); "
                            f"follow it at GET /v1/retag/{running.id} or cancel it first")
    now = datetime.now(UTC)
    job = RetagJob(model_id=model_id, status="running", only_other_models=only_other_models, cursor=0, done=0,
                   changed=0, alerts_opened=0, alerts_cleared=0, created_by=actor, created_at=now, updated_at=now)
    total_query = _todo(job).with_only_columns(func.count()).order_by(None)
    job.total = session.scalar(total_query) or 0
    session.add(job)
    session.flush()
    return job


def _next_batch(session: Session, job_id: int, size: int) -> tuple[RetagJob, list[_Snapshot]]:
    job = session.get(RetagJob, job_id)
    if job is None:
        raise LookupError(job_id)
    rows = session.execute(_todo(job).with_only_columns(Response.id, Response.text, Response.score, Response.lang)
                           .order_by(Response.id).limit(size)).all()
    return job, [_Snapshot(rid, text, score, None if lang in (None, "und") else lang) for rid, text, score, lang in rows]


def _alert_follows(session: Session, row: Response, data: dict[str, Any], was_urgent: bool, old_level: str,
                   job: RetagJob, settings: Any, now: datetime) -> tuple[int, int]:
    """Open, update or annotate the alert of a re-tagged answer; returns (opened, cleared)."""
    actor = f"retag job {job.id}"
    alert = session.scalar(select(Alert).where(Alert.response_id == row.id))
    if alert is None:
        if not row.urgent:
            return 0, 0
        policy = history.alert_policy(row.timestamp, "history", settings, now)
        if policy == "skip":
            return 0, 0
        opened = store._open_alert(session, row, data, settings, now, actor, policy=policy)
        if policy == "closed":
            opened.events[-1].note = (f"re-tagged with {job.model_id}: urgent, but the answer is older than "
                                      f"{settings.history_alert_age_days:g} days (created resolved)")
        return 1, 0
    if row.urgent == was_urgent and row.urgency_level == old_level:
        return 0, 0
    if row.urgent:
        alert.level, alert.reasons = row.urgency_level, data["urgency"]["reasons"]
        note = f"re-tagged with {job.model_id}: urgency now {row.urgency_level}"
    else:
        note = f"re-tagged with {job.model_id}: no longer urgent (urgency now {row.urgency_level}); the alert is kept"
    alert.events.append(AlertEvent(at=now, actor=actor, kind="retagged", old=old_level, new=row.urgency_level, note=note))
    alert.updated_at = now
    session.flush()
    if alert.status != "resolved":
        store.enqueue(session, settings, "alert.updated", {**store.alert_payload(alert), "changes": [
            {"kind": "retagged", "old": old_level, "new": row.urgency_level, "note": note}]})
    return 0, int(was_urgent and not row.urgent)


def _tags(row: Response) -> list[tuple[str, str]]:
    return sorted((t.theme, t.sentiment) for t in row.themes)


def _write(session: Session, job_id: int, batch: list[_Snapshot], answers: list[Any], settings: Any) -> RetagJob:
    """Store one analysed batch and move the job's cursor past it (one transaction)."""
    now = datetime.now(UTC)
    job = session.get(RetagJob, job_id)
    assert job is not None
    rows = {r.id: r for r in session.scalars(select(Response).where(Response.id.in_([b.id for b in batch])))}
    for snap, answer in zip(batch, answers, strict=True):
        row = rows.get(snap.id)
        if row is None or row.text != snap.text or row.score != snap.score:
            continue  # deleted or corrected meanwhile (a correction re-tags it with the served model itself)
        old: dict[str, Any] = {"model_id": row.model_id, "sentiment": row.sentiment, "urgency_level": row.urgency_level,
               "themes": [f"{t}:{s}" for t, s in _tags(row)]}
        was_urgent, old_level, old_tags = row.urgent, row.urgency_level, _tags(row)
        data = analysis_dict(answer)
        store.set_analysis(row, data, job.model_id)
        session.flush()
        fields = [f for f, changed in (("sentiment", old["sentiment"] != row.sentiment),
                                       ("urgency_level", old["urgency_level"] != row.urgency_level),
                                       ("themes", old_tags != _tags(row))) if changed]
        session.add(ResponseEvent(response_id=row.id, at=now, actor=f"retag job {job.id}", kind="retagged",
                                  changes={"from": old["model_id"], "to": job.model_id, "job_id": job.id,
                                           "fields": fields, "old": old}))
        opened, cleared = _alert_follows(session, row, data, was_urgent, old_level, job, settings, now)
        job.changed += bool(fields)
        job.alerts_opened += opened
        job.alerts_cleared += cleared
    job.done += len(batch)
    job.cursor = batch[-1].id
    job.updated_at = now
    return job


def _finish(session: Session, job_id: int, status: str, error: str | None = None) -> None:
    job = session.get(RetagJob, job_id)
    if job is not None and job.status == "running":
        now = datetime.now(UTC)
        job.status, job.error, job.finished_at, job.updated_at = status, error, now, now
        job.total = max(job.total, job.done)


class RetagRunner:
    """Runs re-tagging jobs as asyncio tasks of the service (one at a time).

    Args:
        state: the app's state (database, settings, micro-batcher).
    """

    def __init__(self, state: Any) -> None:
        self.state = state
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, job_id: int) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"nps-retag-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def resume(self) -> list[int]:
        """Start every job left ``running`` by an earlier process (from its cursor)."""
        def running() -> list[int]:
            with self.state.db.session() as s:
                return list(s.scalars(select(RetagJob.id).where(RetagJob.status == "running")))

        ids = await asyncio.to_thread(running)
        for job_id in ids:
            log.info("resuming re-tagging job", extra={"job_id": job_id})
            self.start(job_id)
        return ids

    async def stop(self) -> None:
        """Cancel the running tasks; their jobs stay ``running`` and resume at the next start."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _step(self, fn: Any, *args: Any) -> Any:
        with self.state.db.session() as s:
            return fn(s, *args)

    async def _run(self, job_id: int) -> None:
        settings = self.state.settings
        try:
            while True:
                job, batch = await asyncio.to_thread(self._step, _next_batch, job_id, settings.retag_batch_size)
                if job.status != "running":
                    return  # cancelled
                if not batch:
                    await asyncio.to_thread(self._step, _finish, job_id, "done")
                    log.info("re-tagging job done", extra={"job_id": job_id})
                    return
                answers, model_id = await self.state.batcher.analyze(
                    [Item(b.text, b.score, b.lang) for b in batch], bulk=True)
                if model_id != job.model_id:
                    await asyncio.to_thread(self._step, _finish, job_id, "superseded",
                                            f"the served model changed from {job.model_id} to {model_id}; "
                                            "start a new job for it")
                    return
                await asyncio.to_thread(self._step, _write, job_id, batch, answers, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the job stops with the reason; the service keeps running
            log.exception("re-tagging job failed", extra={"job_id": job_id})
            await asyncio.to_thread(self._step, _finish, job_id, "failed", f"{type(exc).__name__}")


def cancel(session: Session, job_id: int) -> RetagJob:
    """Stop a running job after its current batch (answers done keep their new tags)."""
    job = session.get(RetagJob, job_id)
    if job is None:
        raise ApiError(404, f"no re-tagging job {job_id}")
    if job.status == "running":
        _finish(session, job_id, "cancelled")
    return job

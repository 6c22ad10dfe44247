"""Re-tagging stored answers with the served model."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import InputModel


class RetagIn(InputModel):
    """Start re-tagging. ``model_id`` (optional) must be the model the service serves now (promote it first)."""

    model_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="the served model's id (checked); default: the served model")
    all: bool = Field(default=False, description="also answers already tagged by this model")

    model_config = {"json_schema_extra": {"examples": [{"model_id": "run-2026-12-06-best"}]}}


class RetagJobOut(BaseModel):
    id: int
    model_id: str
    status: Literal["running", "done", "failed", "superseded", "cancelled"]
    only_other_models: bool
    total: int = Field(description="answers to re-tag when the job started")
    done: int
    progress: float = Field(description="done / total, 0-1 (1 when there was nothing to do)")
    changed: int = Field(description="answers whose sentiment, urgency or themes changed")
    alerts_opened: int
    alerts_cleared: int = Field(description="alerts whose answer is no longer urgent (kept, with an event)")
    cursor: int = Field(description="the last response id done; a restarted service resumes after it")
    error: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class RetagJobsOut(BaseModel):
    items: list[RetagJobOut]

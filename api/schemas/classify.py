"""POST /v1/classify."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import AnalysisOut, InputModel, Lang, Score


class ClassifyItemIn(InputModel):
    text: str = Field(description="the open answer (may be empty)", examples=["Great staff but the invoice was wrong again"])
    score: Score | None = None
    lang: Lang = Field(default=None, description="language hint (nl, nb, nn, en); detected when absent")
    id: str | None = Field(default=None, max_length=200, description="your id, echoed back")
    metadata: dict[str, Any] | None = Field(default=None, description="anything you want echoed back")


class ClassifyIn(InputModel):
    """One or many answers (at most ``NPS_MAX_BATCH``)."""

    answers: list[ClassifyItemIn] = Field(min_length=1)

    model_config = {"json_schema_extra": {"examples": [{"answers": [
        {"text": "Great staff but the invoice was wrong again", "score": 6, "id": "a-1"},
        {"text": "Factuur klopt weer niet en niemand neemt op", "score": 2, "lang": "nl"},
    ]}]}}


class ClassifyResultOut(AnalysisOut):
    id: str | None = None
    metadata: dict[str, Any] | None = None


class ClassifyOut(BaseModel):
    model_id: str = Field(examples=["default"])
    results: list[ClassifyResultOut]

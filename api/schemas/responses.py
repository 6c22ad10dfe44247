"""Ingest and read survey responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import AnalysisOut, InputModel, Lang, Score, Segments, SurveyTime

_EXAMPLE: dict[str, Any] = {"external_id": "survey-42-resp-1001", "score": 3, "text": "The app keeps crashing and I am thinking of leaving",
            "timestamp": "2024-05-01T12:30:00Z", "customer_id": "acct-981", "lang": "en",
            "segments": {"team": "support-north", "channel": "app", "country": "NL"}}


class ResponseIn(InputModel):
    """A survey response. ``external_id`` makes ingest idempotent: the same id with the same content is stored
    once; with other content it is a conflict (correct a response with ``PUT /v1/responses/{external_id}``)."""

    external_id: str = Field(min_length=1, max_length=200)
    score: Score
    text: str = Field(description="the open answer (may be empty; at most NPS_MAX_TEXT_CHARS characters)")
    timestamp: SurveyTime | None = Field(default=None, description="ISO-8601; naive means UTC; default now")
    customer_id: str | None = Field(default=None, max_length=200)
    account_id: str | None = Field(default=None, min_length=1, max_length=200,
                                   description="the customer's account (else the account its customer_id is mapped to)")
    lang: Lang = Field(default=None, description="language hint; detected when absent")
    segments: Segments = Field(default_factory=Segments)

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}


class BulkIn(InputModel):
    """Up to ``NPS_MAX_BULK`` responses. Items are validated one by one: a bad item is reported in its result
    and the good ones are stored."""

    unchecked = frozenset({"responses"})  # each item is checked on its own

    responses: list[Any] = Field(
        min_length=1, json_schema_extra={"items": {"$ref": "#/components/schemas/ResponseIn"}})

    model_config = {"json_schema_extra": {"examples": [{"responses": [_EXAMPLE]}]}}


class ResponseEventOut(BaseModel):
    """One change of a response: a correction (``corrected``) or a re-tagging with another model (``retagged``,
    with ``from`` and ``to`` model ids): who, when, which fields, and their values before."""

    at: datetime
    actor: str | None
    kind: str = Field(examples=["corrected", "retagged"])
    changes: dict[str, Any] = Field(examples=[{"fields": ["score"], "old": {"score": 3, "urgency_level": "high"}}])


class ResponseOut(BaseModel):
    id: int
    external_id: str
    score: int
    band: str
    text: str
    lang: str
    timestamp: datetime
    customer_id: str | None
    account_id: str | None = None
    segments: Segments
    sentiment: str
    sentiment_score: float
    urgency_level: str
    urgent: bool
    analysis: AnalysisOut
    model_id: str | None
    alert_id: int | None = None
    created_at: datetime
    quarantine_breach: str | None = Field(default=None, description="why the survey broke the contact rules "
                                          "(reason codes, then words); empty when it did not",
                                          examples=["recent_survey: surveyed on 2026-11-30, less than 90 days ago"])
    history: list[ResponseEventOut] | None = Field(default=None, description="corrections and re-tagging "
                                                   "(one response only)")


class IngestOut(BaseModel):
    status: Literal["created", "duplicate"]
    response: ResponseOut


class CorrectionOut(BaseModel):
    status: Literal["corrected", "unchanged"]
    changed: list[str] = Field(description="the content fields that changed", examples=[["score", "text"]])
    response: ResponseOut


class BulkItemOut(BaseModel):
    index: int
    external_id: str | None
    status: Literal["created", "duplicate", "conflict", "error"]
    id: int | None = None
    error: str | None = None


class BulkOut(BaseModel):
    results: list[BulkItemOut]
    created: int
    duplicates: int
    conflicts: int = 0
    errors: int


class ResponseListOut(BaseModel):
    total: int
    items: list[ResponseOut]

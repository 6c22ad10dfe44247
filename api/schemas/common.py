"""Shared pieces: the error body, analysis output, segment fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from api.settings import SEGMENTS


def _lang_hint(value: object) -> object:
    """``nl``/``nb``/``nn``/``en`` stay, ``no`` means Bokmål, the library's own ``und``/``other`` (and ``""``)
    mean "detect it"; anything else is an error that lists the choices."""
    if value is None or not isinstance(value, str):
        return value
    code = value.strip().lower()
    if code in ("", "und", "other"):
        return None
    if code == "no":
        return "nb"
    if code not in ("nl", "nb", "nn", "en"):
        raise ValueError(f"language hint {value!r} is not supported; use nl, nb, nn or en, or leave it out to detect it")
    return code


Lang = Annotated[Literal["nl", "nb", "nn", "en"] | None, BeforeValidator(_lang_hint)]
Score = Annotated[int, Field(ge=0, le=10, strict=True, description="0-10 likelihood to recommend")]


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: what is wrong, and one line per problem."""

    detail: str = Field(examples=["invalid request"])
    problems: list[str] = Field(default_factory=list, examples=[["answers[0].score: must be at most 10, got 11"]])


class EvidenceOut(BaseModel):
    text: str
    start: int
    end: int


class ThemeOut(BaseModel):
    theme: str = Field(examples=["billing_payment"])
    confidence: float = Field(examples=[0.87])
    sentiment: str = Field(examples=["negative"])
    sentiment_score: float = Field(examples=[-0.83])
    evidence: EvidenceOut | None = None
    source: str = "trained"


class UrgencyReasonOut(BaseModel):
    code: str = Field(examples=["churn"])
    level: str = Field(examples=["high"])
    label: str = Field(examples=["cancellation or churn threat"])
    evidence: EvidenceOut | None = None


class UrgencyOut(BaseModel):
    level: Literal["none", "low", "medium", "high", "critical"] = "none"
    urgent: bool = False
    reasons: list[UrgencyReasonOut] = Field(default_factory=list)


class RouteOut(BaseModel):
    team: str = Field(examples=["finance"])
    theme: str = Field(examples=["billing_payment"])
    kind: Literal["problem", "praise", "mention"]


class AnalysisOut(BaseModel):
    """The pipeline's reading of one answer."""

    lang: str = Field(examples=["en"], description="nl, nb, nn, en, other, or und (too little text)")
    lang_confidence: float
    sentiment: str = Field(examples=["negative"])
    sentiment_score: float
    themes: list[ThemeOut]
    score: float | None = None
    band: Literal["detractor", "passive", "promoter"] | None = None
    urgency: UrgencyOut
    routing: list[RouteOut]


def analysis_dict(answer: Any) -> dict[str, Any]:
    """An ``AnalyzedAnswer`` as the dict stored and served (the answer text itself is left out)."""
    data = answer.to_dict()
    data.pop("text", None)
    return data


class Segments(BaseModel):
    """Where a response comes from. Only these five fields are known."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})

    team: str | None = Field(default=None, max_length=100, examples=["support-north"])
    department: str | None = Field(default=None, max_length=100, examples=["consumer"])
    channel: str | None = Field(default=None, max_length=100, examples=["email"])
    touchpoint: str | None = Field(default=None, max_length=100, examples=["after-call"])
    country: str | None = Field(default=None, max_length=100, examples=["NL"])

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SEGMENTS))
            if unknown:
                raise ValueError(f"unknown segment field(s) {unknown}; allowed: {', '.join(SEGMENTS)}")
        return data


def parse_timestamp(value: str | datetime | None) -> datetime:
    """An ISO-8601 timestamp as aware UTC (naive means UTC); ``None`` means now.

    Raises:
        ValueError: not ISO-8601 (the message shows an example).
    """
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not ISO-8601; expected e.g. 2024-05-01T12:30:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)

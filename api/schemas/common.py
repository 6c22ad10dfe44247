"""Shared pieces: the error body, analysis output, segment fields."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from api.settings import SEGMENTS


def short(value: object, limit: int = 40) -> str:
    """``repr`` of a (possibly huge or binary) value for an error message: at most ``limit`` characters of it,
    then its length. NUL bytes and surrogates come out escaped."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or sent back as UTF-8 text, or ``None``: a NUL byte (PostgreSQL text cannot
    hold one) or a lone UTF-16 surrogate such as ``\\ud800`` (not a character)."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which text fields cannot hold; remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (such as \\ud800), which is not a character; send valid Unicode text"
    return None


def check_value(value: Any, depth: int = 0) -> None:
    """Raise ``ValueError`` for a bad string, key or number anywhere in ``value`` (also inside free-form dicts and
    lists): text that :func:`text_problem` refuses, or NaN/infinity (not JSON)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number; send a finite number or null")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(key, depth + 1)
            check_value(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            check_value(item, depth + 1)


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused (named in the message, with the allowed ones) and
    every string is checked with :func:`text_problem`. Fields named in ``unchecked`` are validated elsewhere."""

    model_config = ConfigDict(extra="forbid")
    unchecked: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                names = ", ".join(short(k, 30) for k in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                raise ValueError(f"unknown field(s) {names}; allowed: {', '.join(cls.model_fields)}")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name not in cls.unchecked and not isinstance(value, BaseModel):
            check_value(value)
        return value


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
        raise ValueError(f"language hint {short(value)} is not supported; use nl, nb, nn or en, or leave it out to detect it")
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


class Segments(InputModel):
    """Where a response comes from. Only these five fields are known."""

    team: str | None = Field(default=None, max_length=100, examples=["support-north"])
    department: str | None = Field(default=None, max_length=100, examples=["consumer"])
    channel: str | None = Field(default=None, max_length=100, examples=["email"])
    touchpoint: str | None = Field(default=None, max_length=100, examples=["after-call"])
    country: str | None = Field(default=None, max_length=100, examples=["NL"])

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in set(data) - set(SEGMENTS))
            if unknown:
                names = "[" + ", ".join(short(k, 30) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "") + "]"
                raise ValueError(f"unknown segment field(s) {names}; allowed: {', '.join(SEGMENTS)}")
        return data


def parse_timestamp(value: str | datetime | None) -> datetime:
    """An ISO-8601 timestamp as aware UTC (naive means UTC); ``None`` means now.

    Raises:
        ValueError: not an ISO-8601 string (the message shows an example; numbers such as Unix times are refused),
            or outside the years 1-9999 once converted to UTC.
    """
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        parsed = value
    else:
        if not isinstance(value, str):
            raise ValueError(f"timestamp must be an ISO-8601 string such as 2024-05-01T12:30:00Z, got {type(value).__name__}")
        if text_problem(value):
            raise ValueError(f"timestamp {short(value)} is not ISO-8601: it {text_problem(value)}")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"timestamp {short(value)} is not ISO-8601; expected e.g. 2024-05-01T12:30:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {short(str(value))} is outside the years 1-9999 in UTC") from None


def _timestamp(value: Any) -> Any:
    return None if value is None else parse_timestamp(value)


def _survey_time(value: Any) -> Any:
    parsed = _timestamp(value)
    if parsed is not None and not 1900 <= parsed.year < 2200:
        raise ValueError(f"timestamp {short(str(value))} is not a plausible survey time (years 1900-2199)")
    return parsed


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
"""An aware UTC datetime read only from ISO-8601 text (``until=0.5`` is not a Unix time here)."""

SurveyTime = Annotated[datetime, BeforeValidator(_survey_time)]
"""A :data:`Timestamp` between 1900 and 2199: when a survey answer was given."""

"""Helpers the routers share: size checks and the filter query parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query

from api.errors import ApiError
from api.schemas.common import ErrorOut, Timestamp
from api.services.queries import Filters
from api.settings import ServiceSettings

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key", "model": ErrorOut},
    403: {"description": "the key lacks the scope", "model": ErrorOut},
    413: {"description": "request body over NPS_MAX_BODY_BYTES", "model": ErrorOut},
    422: {"description": "invalid input; `problems` lists each", "model": ErrorOut},
    503: {"description": "database unavailable; retry after `Retry-After` seconds", "model": ErrorOut},
}

MAX_ID = 2**31 - 1
"""Largest row id (the id columns are 32-bit on PostgreSQL)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="the row id")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Name = Annotated[str | None, Query(max_length=200)]


def check_texts(texts: list[str], settings: ServiceSettings, prefix: str) -> list[str]:
    """Problems for answers longer than ``max_text_chars``."""
    return [f"{prefix}[{i}].text: {len(t)} characters is over the limit of {settings.max_text_chars} (NPS_MAX_TEXT_CHARS)"
            for i, t in enumerate(texts) if len(t) > settings.max_text_chars]


def check_batch(n: int, limit: int, what: str, setting: str) -> None:
    if n > limit:
        raise ApiError(413, f"{n} {what} in one request is over the limit of {limit} ({setting}); split the request")


def filters(
    since: Annotated[Timestamp | None, Query(description="from this time (ISO-8601, inclusive)")] = None,
    until: Annotated[Timestamp | None, Query(description="until this time (ISO-8601, exclusive), or through this day "
                                                      "when a date alone (2026-11-30 covers that whole day, UTC)")] = None,
    team: Name = None,
    department: Name = None,
    channel: Name = None,
    touchpoint: Name = None,
    country: Name = None,
    customer_id: Annotated[str | None, Query(max_length=200, description="one customer or account")] = None,
    lang: Annotated[str | None, Query(max_length=8, description="answers in this language (en, nl, nb, nn, ...)")] = None,
    raw_until: Annotated[str | None, Query(alias="until", include_in_schema=False)] = None,
) -> Filters:
    if until is not None and raw_until is not None and _DATE_ONLY.match(raw_until.strip()):
        # a date alone covers that whole day: the filter ends where the next day starts (UTC)
        until = datetime.combine(until.date() + timedelta(days=1), time(0), UTC)
    return Filters(since, until, team, department, channel, touchpoint, country, customer_id, lang)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


FiltersDep = Annotated[Filters, Depends(filters)]

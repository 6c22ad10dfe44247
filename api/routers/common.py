"""Helpers the routers share: size checks and the filter query parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from api.errors import ApiError
from api.services.queries import Filters
from api.settings import ServiceSettings

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid API key"}, 403: {"description": "the key lacks the scope"},
    422: {"description": "invalid input; `problems` lists each"},
}


def check_texts(texts: list[str], settings: ServiceSettings, prefix: str) -> list[str]:
    """Problems for answers longer than ``max_text_chars``."""
    return [f"{prefix}[{i}].text: {len(t)} characters is over the limit of {settings.max_text_chars} (NPS_MAX_TEXT_CHARS)"
            for i, t in enumerate(texts) if len(t) > settings.max_text_chars]


def check_batch(n: int, limit: int, what: str, setting: str) -> None:
    if n > limit:
        raise ApiError(413, f"{n} {what} in one request is over the limit of {limit} ({setting}); split the request")


def filters(
    since: Annotated[datetime | None, Query(description="from this time (ISO-8601, inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="until this time (ISO-8601, exclusive)")] = None,
    team: Annotated[str | None, Query()] = None,
    department: Annotated[str | None, Query()] = None,
    channel: Annotated[str | None, Query()] = None,
    touchpoint: Annotated[str | None, Query()] = None,
    country: Annotated[str | None, Query()] = None,
    customer_id: Annotated[str | None, Query(description="one customer or account")] = None,
) -> Filters:
    from api.schemas.common import parse_timestamp

    return Filters(parse_timestamp(since) if since else None, parse_timestamp(until) if until else None,
                   team, department, channel, touchpoint, country, customer_id)


FiltersDep = Annotated[Filters, Depends(filters)]

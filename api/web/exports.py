"""Downloads from the workspace: responses, alerts and action items as CSV or XLSX with the page's filters,
limited to the teams the user may see (and, for an agent, to the alerts assigned to them)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse

from api.db.models import Alert
from api.deps import StateDep
from api.services.exports import KINDS, MEDIA_TYPES, export_stream, filename, teams_restriction
from api.web.auth import CurrentUser, WebError
from api.web.render import read_view

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/export/{kind}", response_model=None, response_class=StreamingResponse)
def export(kind: Annotated[str, Path(max_length=20)], request: Request, state: StateDep, viewer: CurrentUser,
           format: str = "csv") -> StreamingResponse:
    """``kind``: responses, alerts or action_items; ``format``: csv or xlsx; the page's filters apply."""
    if kind not in KINDS or format not in MEDIA_TYPES:
        raise WebError(404, "no such export: responses, alerts or action_items as csv or xlsx")
    view = read_view(request, viewer)
    start, end = view.filters.bounds()
    # the export reads datetimes: the day bounds in the user's zone, and no scope of its own (restrict does it)
    filters = dataclasses.replace(view.filters, since=start, until=end, scope=None)
    restrict: Any = None
    if not viewer.sees_all:
        team_only = teams_restriction(viewer.teams)
        owner = viewer.alert_owner

        def restrict(k: Any, query: Any) -> Any:
            query = team_only(k, query)
            return query.where(Alert.owner == owner) if k == "alerts" and owner else query

    chunks = export_stream(state.db, kind, format, filters, restrict)  # type: ignore[arg-type]
    # named after the days chosen (the bounds above are datetimes in UTC, a day off east of Greenwich)
    name = filename(kind, format, view.filters)  # type: ignore[arg-type]
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


__all__ = ["router"]

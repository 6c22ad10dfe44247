"""Downloads: responses, alerts and action items as CSV or XLSX, with the same filters as the figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from api.deps import ReadKey, StateDep
from api.routers.common import ERRORS, FiltersDep
from api.services.exports import MEDIA_TYPES, Format, Kind, export_stream, filename

router = APIRouter(prefix="/v1/exports", tags=["exports"])

_FILES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "the file, streamed", "content": {MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
                                                           MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}},
}


@router.get("/{kind}", response_model=None, response_class=StreamingResponse, responses=_FILES)
def export(kind: Annotated[Kind, Path(description="responses, alerts or action_items")], state: StateDep,
           filters: FiltersDep, _: ReadKey,
           format: Annotated[Format, Query(description="csv (UTF-8 with a byte-order mark) or xlsx")] = "csv") -> StreamingResponse:
    """Download ``kind`` with the filters (responses and alerts: window on the answer's time and every segment;
    action items: team, and the window on their creation). Columns have a fixed order, times are ISO 8601 UTC,
    and text a spreadsheet could read as a formula starts with an apostrophe."""
    chunks = export_stream(state.db, kind, format, filters)
    name = filename(kind, format, filters)
    # Starlette iterates a plain generator in a worker thread, off the event loop
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[format],
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})

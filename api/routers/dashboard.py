"""GET /dashboard: the old read-only page is replaced by the team workspace; its address redirects to ``/app``
(keeping the query string, so a bookmarked filter still lands on the overview with it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

router = APIRouter(include_in_schema=False)


@router.get("/dashboard", response_model=None)
@router.get("/dashboard/{rest:path}", response_model=None)
async def dashboard(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse("/app/overview" + query, status_code=301)

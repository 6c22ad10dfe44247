"""GET /dashboard: a read-only page over the ``/v1`` figures (NPS trend, action points, passive drivers, open
alerts, teams) for people without a BI tool. Static files; the browser calls the API with a ``read`` key that
the user enters and that stays in the tab's sessionStorage."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parents[1] / "dashboard"
# scripts and styles only from this service: answer text from the API can never run as code
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    return FileResponse(ASSETS / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


static = StaticFiles(directory=ASSETS)

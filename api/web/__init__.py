"""The team workspace at ``/app``: server-rendered pages (Jinja2) with htmx (vendored from npm, no CDN),
sign-in with roles and teams, and the same filters on every page. ``/dashboard`` redirects here.

``install(app)`` mounts the pages, the actions, the static files and the handlers that turn a workspace error
into a page (or a redirect to sign-in).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.web import actions, exports, pages, recognition
from api.web.auth import SignInRequired, WebError, login_url, read_session
from api.web.render import render

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Add the workspace to ``app``."""
    for module in (pages, actions, exports, recognition):
        app.include_router(module.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="workspace-static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = login_url(exc.next_url)
        if request.headers.get("hx-request"):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        web = await read_session(request, request.app.state.nps)
        viewer = None
        try:
            from api.web.auth import current_user

            viewer = await current_user(request, request.app.state.nps, web)
        except SignInRequired:
            viewer = None
        return render(request, "error.html", web, viewer, status=exc.status, message=exc.message, status_code=exc.status)


__all__ = ["install"]

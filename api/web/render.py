"""Rendering workspace pages: the Jinja2 environment, the context every page gets, security headers, and the
filters read from the URL (the same names on every page, so a view can be shared by its address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from api.services.queries import Filters
from api.web.auth import CSRF_FIELD, Viewer, WebError, WebSession, write_session
from api.web.i18n import Translator, pick_lang, translator

TEMPLATES = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.globals["tz"] = ZoneInfo

SECURITY_HEADERS = {
    # scripts and styles only from this service: answer text can never run as code
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

SEGMENT_PARAMS = ("channel", "country", "department", "touchpoint", "team", "lang")
PERIODS = ("day", "week", "month")


@dataclass
class View:
    """The filters of a page as read from its URL, and the URL query that reproduces them."""

    filters: Filters
    period: str | None
    args: dict[str, str]

    def query(self, **extra: str | None) -> str:
        """``?since=...&channel=...`` for a link that keeps this view (``extra`` adds or drops parameters)."""
        args = {**self.args, **{k: v for k, v in extra.items() if v is not None}}
        for key, value in extra.items():
            if value is None:
                args.pop(key, None)
        return "?" + urlencode(args) if args else ""


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise WebError(400, f"{name} must be a date such as 2026-11-30; got {raw[:40]!r}") from None


def read_view(request: Request, viewer: Viewer) -> View:
    """The page's filters from the query string: ``since`` and ``until`` (dates, both inclusive, in the user's
    time zone), ``channel``, ``country``, ``department``, ``touchpoint``, ``team`` (the answers' team segment),
    ``lang`` and ``period`` (day, week, month). Limited to the teams the user may see.

    Raises:
        WebError: 400 for a malformed date, a ``since`` after ``until`` or an unknown period.
    """
    since, until = _day(request, "since"), _day(request, "until")
    if since and until and since > until:
        raise WebError(400, "the period starts after it ends: 'since' must be on or before 'until'")
    values: dict[str, str | None] = {}
    for name in SEGMENT_PARAMS:
        raw = request.query_params.get(name, "").strip()
        if len(raw) > 100:
            raise WebError(400, f"{name} is longer than 100 characters")
        values[name] = raw or None
    period = request.query_params.get("period") or None
    if period is not None and period not in PERIODS:
        raise WebError(400, f"period must be day, week or month; got {period[:20]!r}")
    filters = Filters(since, until, values["team"], values["department"], values["channel"], values["touchpoint"],
                      values["country"], None, values["lang"], tz=viewer.timezone, scope=viewer.scope)
    args = {k: v for k, v in {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
                              **values, "period": period}.items() if v}
    return View(filters, period, args)


def lang_for(request: Request, viewer: Viewer | None) -> Translator:
    chosen = viewer.lang if viewer else request.query_params.get("lang")
    return translator(pick_lang(chosen, request.headers.get("accept-language")))


def render(request: Request, name: str, web: WebSession, viewer: Viewer | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    """Render template ``name`` with the translator ``t``, the user, the CSRF token and ``context``."""
    t = lang_for(request, viewer)
    response = templates.TemplateResponse(request, name, {"t": t, "viewer": viewer, "csrf": web.csrf, "csrf_field": CSRF_FIELD,
                                                          "lang": t.lang, **context}, status_code=status,
                                          headers=SECURITY_HEADERS)
    if web.fresh:
        write_session(request, response, web)
    return response


__all__ = ["PERIODS", "SECURITY_HEADERS", "View", "read_view", "render", "templates"]

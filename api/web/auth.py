"""Sign-in for the workspace: a signed session cookie, the signed-in user, and CSRF checks.

The cookie (``nps_session``) is signed with itsdangerous and holds the user id, the user's session epoch and a
CSRF token; it is HttpOnly, SameSite=Lax, and Secure when the request came over https. A password change or a
disabled account bumps the epoch, which ends older sessions. Every POST must carry the session's CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``), and a cross-site ``Origin`` is refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from api.db.models import User
from api.deps import AppState, StateDep
from api.services.users import Viewer as Viewer
from api.services.users import app_secret, viewer_of

COOKIE = "nps_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class WebError(Exception):
    """A workspace error shown as a page (or an htmx fragment) with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInRequired(Exception):
    """No valid session: the answer is a redirect to the sign-in page that comes back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class WebSession:
    """The decoded cookie: who (``None`` before sign-in), their epoch, and the CSRF token."""

    user_id: int | None
    epoch: int
    csrf: str
    fresh: bool = False  # not read from a valid cookie: it must be set on the response


def _serializer(request: Request, state: AppState) -> URLSafeTimedSerializer:
    cached: URLSafeTimedSerializer | None = getattr(request.app.state, "web_serializer", None)
    if cached is None:
        secret = state.settings.session_secret
        if not secret:
            with state.db.session() as session:
                secret = app_secret(session, "session")
        cached = URLSafeTimedSerializer(secret, salt="nps-workspace-session")
        request.app.state.web_serializer = cached
    return cached


async def read_session(request: Request, state: StateDep) -> WebSession:
    """The request's session, or a fresh anonymous one with a new CSRF token."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    serializer = _serializer(request, state) if hasattr(request.app.state, "web_serializer") \
        else await run_in_threadpool(_serializer, request, state)
    raw = request.cookies.get(COOKIE)
    data: Any = None
    if raw:
        try:
            data = serializer.loads(raw, max_age=state.settings.session_max_age_s)
        except BadSignature:
            data = None
    if isinstance(data, dict) and isinstance(data.get("c"), str):
        uid = data.get("u")
        web = WebSession(uid if isinstance(uid, int) else None, int(data.get("e", 0)), data["c"])
    else:
        web = WebSession(None, 0, secrets.token_urlsafe(32), fresh=True)
    request.state.web_session = web
    return web


SessionCookie = Annotated[WebSession, Depends(read_session)]


def write_session(request: Request, response: Response, web: WebSession) -> None:
    """Set the session cookie on ``response``."""
    serializer: URLSafeTimedSerializer = request.app.state.web_serializer
    value = serializer.dumps({"u": web.user_id, "e": web.epoch, "c": web.csrf})
    settings = request.app.state.nps.settings
    response.set_cookie(COOKIE, value, max_age=settings.session_max_age_s, path="/", httponly=True, samesite="lax",
                        secure=_is_https(request))


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _load_viewer(state: AppState, web: WebSession) -> Viewer | None:
    with state.db.session() as session:
        user = session.get(User, web.user_id)
        if user is None or not user.active or user.session_epoch != web.epoch:
            return None
        viewer = viewer_of(user)
    if viewer.timezone in ("", None):
        return Viewer(**{**viewer.__dict__, "timezone": state.settings.workspace_timezone})
    return viewer


async def current_user(request: Request, state: StateDep, web: SessionCookie) -> Viewer:
    """The signed-in user; otherwise :class:`SignInRequired` (a redirect to the sign-in page)."""
    viewer = await run_in_threadpool(_load_viewer, state, web) if web.user_id is not None else None
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/app")
    request.state.caller = viewer.username
    return viewer


CurrentUser = Annotated[Viewer, Depends(current_user)]


def safe_next(url: str | None) -> str:
    """``url`` if it is a path inside the workspace, else ``/app`` (no open redirect)."""
    if not url:
        return "/app"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/app") or "\\" in url:
        return "/app"
    return url


def login_url(next_url: str) -> str:
    return "/app/login?next=" + quote(safe_next(next_url), safe="/")


async def check_csrf(request: Request, web: SessionCookie) -> None:
    """Refuse a POST whose CSRF token does not match the session's, or that comes from another site (403)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise WebError(403, "cross-site request refused")
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if web.fresh or not token or not hmac.compare_digest(token, web.csrf):
        raise WebError(403, "the form expired or did not come from this site; reload the page and try again")


CsrfChecked = Depends(check_csrf)
"""Put ``dependencies=[CsrfChecked]`` on every workspace POST route."""


__all__ = ["COOKIE", "CSRF_FIELD", "CSRF_HEADER", "CsrfChecked", "CurrentUser", "SessionCookie", "SignInRequired",
           "Viewer", "WebError", "WebSession", "clear_session", "current_user", "login_url", "read_session", "safe_next",
           "write_session"]

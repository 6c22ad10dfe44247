"""ASGI middleware that keeps every answer a JSON one: a bounded request body, no NUL in the address, and a JSON
500 (logged without any request data) instead of an exception that would reach the server.

An exception that reaches uvicorn is logged with its message (which for a database error can hold the row) and
closes the keep-alive connection; :class:`RequestGuard` answers it itself, so the connection stays usable.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("nps_nlp.api")

DEFAULT_MAX_BODY = 16 * 1024 * 1024


class BodyTooLarge(Exception):
    """The request body went over the limit while it was read."""


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """What may be logged about an exception: its type, the database's error class and code, and where it was
    raised (file, line, function for each frame), never its message or arguments, which can quote request data."""
    info: dict[str, Any] = {"error": type(exc).__name__}
    orig = getattr(exc, "orig", None)
    if orig is not None:
        info["db_error"] = type(orig).__name__
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        if code:
            info["db_code"] = str(code)
    frames = traceback.extract_tb(exc.__traceback__)
    info["stack"] = [f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno} {f.name}" for f in frames[-8:]]
    return info


def _error(status: int, detail: str, problems: list[str] | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": problems or []}, status_code=status, headers=headers)


class RequestGuard:
    """Refuse bodies over ``NPS_MAX_BODY_BYTES`` (413, by ``Content-Length`` or while reading), addresses with a NUL
    byte (422), and turn any exception that no handler took into a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = getattr(scope["app"].state, "nps", None)
        limit = state.settings.max_body_bytes if state is not None else DEFAULT_MAX_BODY
        early = _check_request(scope, limit)
        if early is not None:
            await early(scope, receive, send)
            return
        started = False
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "unmatched")
            log.error("unhandled error", extra={"route": route, "method": scope["method"], **describe_exception(exc)})
            if not started:
                await _error(500, "internal error; the service log has the details (request id in X-Request-ID)")(
                    scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return _error(413, f"request body over the limit of {limit:,} bytes (NPS_MAX_BODY_BYTES); send less per request "
                       "(bulk ingest: split the responses)")


def _check_request(scope: Scope, limit: int) -> JSONResponse | None:
    """An error response for a request refused before it runs, or ``None``."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) > limit:
        return _too_large(limit)
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    if b"%00" in raw_path or b"\x00" in raw_path or b"%00" in scope.get("query_string", b""):
        return _error(422, "the address contains a NUL character (%00), which no id or filter can hold",
                      ["url: remove %00 from the path and query"])
    return None

"""Errors mapped to HTTP status codes, in one place.

``ApiError`` carries its own status; library errors (``nps_nlp.errors``) map as
``DataValidationError``/``DataFormatError`` -> 422, ``ConfigError`` -> 400, ``ModelLoadError`` -> 503, any other
``NpsNlpError`` -> 500. Request validation errors become 422 with one readable line per problem, quoting at
most a short prefix of a bad value. Database errors: unreachable or busy (``OperationalError``, ``InterfaceError``,
a pool time-out) -> 503 with ``Retry-After``, a value the database refuses (``DataError``) -> 422. Every error
body is ``{"detail": ..., "problems": [...]}``; anything else becomes a JSON 500 in
:class:`api.guards.RequestGuard`. Logs name the error's type and code, never its message (it can quote a row).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.guards import describe_exception
from api.schemas.common import short
from nps_nlp.errors import ConfigError, DataFormatError, DataValidationError, ModelLoadError, NpsNlpError

log = logging.getLogger("nps_nlp.api")

RETRY_AFTER_S = 5
"""Seconds a client is asked to wait when the database is unavailable."""


class ApiError(Exception):
    """An error with its HTTP status, a message and optional per-item problems."""

    def __init__(self, status: int, detail: str, problems: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []
        self.headers = headers


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request"


def _printable(text: str) -> str:
    """``text`` with any lone surrogate escaped, so it can be sent as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def describe_errors(errors: list[dict[str, Any]] | Any) -> list[str]:
    """Pydantic error dicts as ``where: what (got ...)`` lines."""
    lines = []
    for e in errors:
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")[:300]
        if e.get("type") == "string_unicode":  # pydantic's words for a lone surrogate in a constrained string
            msg = "contains a lone surrogate (such as \\ud800), which is not a character; send valid Unicode text"
        got = e.get("input")
        quiet = isinstance(got, dict | list) or got is None or e.get("type") == "missing" or e.get("type") == "value_error"
        shown = "" if quiet else f" (got {short(got)})"
        loc = _loc(e.get("loc", ()))
        loc = loc if len(loc) <= 120 else loc[:120] + "..."
        lines.append(_printable(f"{loc}: {msg}{shown}"))
    return lines


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (for the ``Allow`` header of a 405)."""
    from starlette.routing import compile_path

    methods: set[str] = set()
    for path, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(path)[0].match(request.url.path):
            methods |= {m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete")}
    return sorted(methods)


def _body(status: int, detail: str, problems: list[str] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": problems or []}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _body(exc.status, exc.detail, exc.problems, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _body(422, "invalid request: fix the fields listed in 'problems'", describe_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first matching route's methods only
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return _body(exc.status_code, str(exc.detail), None, headers)

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        return database_error(exc)

    @app.exception_handler(PoolTimeout)
    async def _pool(_: Request, exc: PoolTimeout) -> JSONResponse:
        return database_error(exc)

    @app.exception_handler(RecursionError)
    async def _nested(_: Request, exc: RecursionError) -> JSONResponse:
        return _body(422, "the JSON body is nested too deeply")

    @app.exception_handler(NpsNlpError)
    async def _library(_: Request, exc: NpsNlpError) -> JSONResponse:
        problems = getattr(exc, "problems", [])
        first = str(exc).splitlines()[0]
        if isinstance(exc, DataValidationError | DataFormatError):
            return _body(422, first, problems)
        if isinstance(exc, ConfigError):
            return _body(400, first, problems)
        if isinstance(exc, ModelLoadError):
            return _body(503, f"model unavailable: {first}")
        log.error("library error", extra={"error": type(exc).__name__})
        return _body(500, f"internal error ({type(exc).__name__}); see the service log")


def database_error(exc: Exception) -> JSONResponse:
    """The answer to a database error: 503 with ``Retry-After`` when the database is unreachable or busy (the
    connection pool reconnects by itself), 422 for a value it refuses, else a JSON 500. Logged without the
    statement's parameters or the error message."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or getattr(exc, "connection_invalidated", False):
        log.warning("database unavailable", extra=describe_exception(exc))
        return _body(503, f"database unavailable; retry in {RETRY_AFTER_S} s", headers={"Retry-After": str(RETRY_AFTER_S)})
    if isinstance(exc, DataError):
        log.warning("database refused a value", extra=describe_exception(exc))
        return _body(422, "the database refused a value of this request (out of range or not storable)")
    log.error("database error", extra=describe_exception(exc))
    return _body(500, "internal database error; the service log has the details (request id in X-Request-ID)")

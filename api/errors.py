"""Errors mapped to HTTP status codes, in one place.

``ApiError`` carries its own status; library errors (``nps_nlp.errors``) map as
``DataValidationError``/``DataFormatError`` -> 422, ``ConfigError`` -> 400, ``ModelLoadError`` -> 503, any other
``NpsNlpError`` -> 500. Request validation errors become 422 with one readable line per problem. Every error
body is ``{"detail": ..., "problems": [...]}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nps_nlp.errors import ConfigError, DataFormatError, DataValidationError, ModelLoadError, NpsNlpError

log = logging.getLogger("nps_nlp.api")


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


def describe_errors(errors: list[dict[str, Any]] | Any) -> list[str]:
    """Pydantic error dicts as ``where: what (got ...)`` lines."""
    lines = []
    for e in errors:
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        got = e.get("input")
        shown = "" if isinstance(got, dict | list) or got is None or e.get("type") == "missing" else f" (got {got!r:.80})"
        lines.append(f"{_loc(e.get('loc', ()))}: {msg}{shown}")
    return lines


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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _body(exc.status_code, str(exc.detail), None, getattr(exc, "headers", None))

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

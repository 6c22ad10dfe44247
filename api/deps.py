"""``Annotated`` dependencies: state, settings, database session, model, micro-batcher, API key scopes.

Tests override these with ``app.dependency_overrides`` or build the app with a fake pipeline
(``create_app(pipeline=...)``).

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
and on a small machine those thread hops cost more than the work (they show in the single-answer latency).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.db.models import ApiKey
from api.db.session import Database
from api.errors import ApiError
from api.observability import Metrics
from api.services.batcher import MicroBatcher
from api.services.keys import find_key
from api.services.models import LoadedModel, ModelManager
from api.settings import ServiceSettings


@dataclass
class AppState:
    """Everything the lifespan builds once and the routes share."""

    settings: ServiceSettings
    db: Database
    models: ModelManager
    batcher: MicroBatcher
    metrics: Metrics
    tasks: list[Any] = field(default_factory=list)


async def get_state(request: Request) -> AppState:
    state: AppState | None = getattr(request.app.state, "nps", None)
    if state is None:
        raise ApiError(503, "the service is starting up; retry in a moment")
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> ServiceSettings:
    return state.settings


def get_session(state: StateDep) -> Iterator[Session]:
    with state.db.session() as session:
        yield session


async def get_model(state: StateDep) -> LoadedModel:
    if not state.models.ready:
        raise ApiError(503, "no model loaded yet; retry in a moment")
    return state.models.current


async def get_batcher(state: StateDep) -> MicroBatcher:
    return state.batcher


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]  # commit before the response is sent
ModelDep = Annotated[LoadedModel, Depends(get_model)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]


@dataclass
class Caller:
    """Who is calling: the key's name and scopes (``anonymous`` with every scope when auth is off)."""

    name: str
    scopes: set[str]


def _caller(state: AppState, authorization: str | None, x_api_key: str | None) -> Caller:
    key = x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "the Authorization header must be 'Bearer <api key>'", headers={"WWW-Authenticate": "Bearer"})
        key = value.strip()
    if not key:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' (create one with `nps-nlp keys create`)",
                       headers={"WWW-Authenticate": "Bearer"})
    with state.db.session() as session:
        row = find_key(session, key)
        if row is None:
            raise ApiError(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        caller = Caller(row.name, row.scope_set)
        key_id, last_used = row.id, row.last_used_at
    now = datetime.now(UTC)
    if last_used is None or now - last_used > timedelta(minutes=1):
        # its own write-only transaction: a read-then-write one can fail with "database is locked" on SQLite
        with state.db.session() as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    return caller


# declared in the OpenAPI document (the "Authorize" button of /docs); the check itself is _caller's
_BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="`Authorization: Bearer <api key>`")
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="`X-API-Key: <api key>`")


def require(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency that lets only keys with ``scope`` (or ``admin``) through: 401 without a valid key, 403
    without the scope."""

    async def check(request: Request, state: StateDep,
                    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
                    x_api_key: Annotated[str | None, Security(_API_KEY)]) -> Caller:
        if state.settings.require_auth:  # the key lookup reads the database: off the event loop
            caller = await run_in_threadpool(_caller, state, request.headers.get("authorization"), x_api_key)
        else:
            caller = Caller("anonymous", {"admin"})
        if scope not in caller.scopes and "admin" not in caller.scopes:
            raise ApiError(403, f"this API key ({caller.name}) lacks the '{scope}' scope; "
                                f"it has: {', '.join(sorted(caller.scopes)) or 'none'}")
        request.state.caller = caller.name
        return caller

    check.__name__ = f"require_{scope}"
    return check


ClassifyKey = Annotated[Caller, Depends(require("classify"))]
IngestKey = Annotated[Caller, Depends(require("ingest"))]
ReadKey = Annotated[Caller, Depends(require("read"))]
TriageKey = Annotated[Caller, Depends(require("triage"))]
AdminKey = Annotated[Caller, Depends(require("admin"))]

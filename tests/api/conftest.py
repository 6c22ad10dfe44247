"""Fixtures for the service tests: databases (SQLite always, PostgreSQL when reachable), an app around a
fast fake pipeline, and API keys."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service needs the api extra: pip install 'nps-nlp[api]'")

from api_fakes import FakePipeline  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@localhost/test"


def _pg_admin() -> Any:
    """An autocommit connection to the local PostgreSQL, or the reason it is not there."""
    try:
        import psycopg

        return psycopg.connect("postgresql://postgres@localhost/test", autocommit=True, connect_timeout=2)
    except Exception as exc:  # no server, no role, no psycopg
        return f"PostgreSQL not reachable at localhost ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throw-away PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nps.db'}"
        return
    conn = _pg_admin()
    if isinstance(conn, str):
        pytest.skip(conn)
    name = f"nps_api_test_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nps.db'}"


@pytest.fixture
def fake_pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """``make_client(database_url, pipeline=None, **settings)`` -> a started TestClient (closed at teardown)."""
    from api.main import create_app
    from api.settings import ServiceSettings

    stack = contextlib.ExitStack()

    def make(database_url: str, pipeline: Any = None, models: Any = None, **overrides: Any) -> TestClient:
        settings = ServiceSettings(database_url=database_url, registry_dir=tmp_path / "registry", model_poll_s=0,
                                   **overrides)
        app = create_app(settings, pipeline=pipeline if pipeline is not None or models is not None else FakePipeline(),
                         models=models)
        return stack.enter_context(TestClient(app))

    with stack:
        yield make


def new_key(client: TestClient, *scopes: str, name: str = "test") -> str:
    from api.services.keys import create_key

    with client.app.state.nps.db.session() as session:  # type: ignore[attr-defined]
        key, _ = create_key(session, name, scopes)
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(make_client: Callable[..., TestClient], sqlite_url: str, fake_pipeline: FakePipeline) -> TestClient:
    """A service on SQLite with the fake pipeline."""
    return make_client(sqlite_url, fake_pipeline)


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    """Headers with an admin key for ``client``."""
    return auth(new_key(client, "admin", name="admin"))

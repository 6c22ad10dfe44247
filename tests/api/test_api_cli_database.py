"""The service commands' database session (api.cli._database): committed when the command's work succeeds,
rolled back when it fails, the engine disposed either way, and the library's errors shown as one line."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import create_engine, func, select

from api.cli import _database
from api.cli._database import database_session, reported_errors
from api.db.models import ApiKey
from api.services.keys import create_key
from nps_nlp.errors import ConfigError, MissingDependencyError


@pytest.fixture
def disposed(monkeypatch) -> list[bool]:
    """Records each dispose of a Database the commands open."""
    from api.db.session import Database

    calls: list[bool] = []
    original = Database.dispose

    def dispose(self) -> None:
        calls.append(True)
        original(self)

    monkeypatch.setattr(Database, "dispose", dispose)
    return calls


def _keys(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(ApiKey)).scalar_one()
    engine.dispose()
    return n


def test_work_that_succeeds_is_committed_and_the_engine_disposed(tmp_path, disposed):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    with database_session(url) as session:
        create_key(session, "crm", ["read"])
    assert _keys(url) == 1 and disposed == [True]


def test_work_that_fails_is_rolled_back_and_the_engine_still_disposed(tmp_path, disposed):
    url = f"sqlite:///{tmp_path / 'failed.db'}"
    with pytest.raises(ConfigError), database_session(url) as session:
        create_key(session, "crm", ["read"])
        session.flush()
        raise ConfigError("the second step failed")
    assert _keys(url) == 0 and disposed == [True]


def test_library_errors_become_one_line_and_exit_code_2(capsys, monkeypatch):
    monkeypatch.setattr("nps_nlp.cli.common.err.width", 200)
    with pytest.raises(typer.Exit) as exit_info, reported_errors():
        raise ConfigError("no such team 'nobody'")
    assert exit_info.value.exit_code == 2
    assert "no such team 'nobody'" in capsys.readouterr().err


def test_other_errors_pass_through_unchanged():
    with pytest.raises(KeyError), reported_errors():
        raise KeyError("a bug, not a user's mistake")


def test_a_missing_service_extra_is_named(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def without_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'", name="uvicorn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_uvicorn)
    with pytest.raises(MissingDependencyError, match=r"uvicorn is required for this feature: pip install 'nps-nlp\[api\]'"):
        _database.require_api()

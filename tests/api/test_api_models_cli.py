"""Model info and reload (fake loader), settings validation, and the serve/keys commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_fakes import FakePipeline
from conftest import auth, new_key
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def _model_dir(tmp_path: Path, name: str, f1: float) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"labels": ["billing_payment"], "metadata": {}}))
    (path / "metrics.json").write_text(json.dumps({"micro_f1": f1}))
    (path / "README.md").write_text(f"# model {name}\n")
    return path


def test_active_model_and_reload_on_promotion(make_client, sqlite_url, tmp_path):
    from api.services.models import ModelManager
    from nps_nlp.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "registry")
    first = registry.register(_model_dir(tmp_path, "one", 0.5), "one")
    registry.promote(first.id)
    loaded: list[Path] = []

    def loader(path: Path) -> FakePipeline:
        loaded.append(path)
        return FakePipeline()

    manager = ModelManager(None, tmp_path / "registry", loader)
    c = make_client(sqlite_url, models=manager)
    admin, reader = auth(new_key(c, "admin")), auth(new_key(c, "read"))
    active = c.get("/v1/models/active", headers=reader).json()
    assert active["id"] == "one" and active["source"] == "registry"
    assert active["card"] == "# model one\n" and active["metrics"] == {"micro_f1": 0.5}
    second = registry.register(_model_dir(tmp_path, "two", 0.7), "two")
    registry.promote(second.id)
    assert manager.stale()
    assert c.post("/v1/models/reload", headers=reader).status_code == 403
    r = c.post("/v1/models/reload", headers=admin)
    assert r.status_code == 200 and r.json()["id"] == "two" and r.json()["metrics"] == {"micro_f1": 0.7}
    assert not manager.stale() and [p.name for p in loaded] == ["one", "two"]
    body = c.post("/v1/classify", headers=admin, json={"answers": [{"text": "x"}]}).json()
    assert body["model_id"] == "two"
    assert 'nps_model_loaded{model_id="two"} 1.0' in c.get("/metrics").text


def test_registry_watch_swaps_model_without_dropping_requests(make_client, sqlite_url, tmp_path):
    """A promotion is picked up by the poller while classify requests keep flowing."""
    import asyncio

    from api.services.batcher import Item, MicroBatcher
    from api.services.models import ModelManager
    from nps_nlp.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "registry")
    registry.promote(registry.register(_model_dir(tmp_path, "old", 0.1), "old").id)
    manager = ModelManager(None, tmp_path / "registry", lambda path: FakePipeline(delay_s=0.01))
    manager.load()

    async def run() -> list[str]:
        batcher = MicroBatcher(lambda: manager.current, max_size=4, wait_ms=1)
        batcher.start()
        watcher = asyncio.create_task(manager.watch(0.02))
        try:
            seen = []
            for i in range(40):
                if i == 10:
                    registry.promote(registry.register(_model_dir(tmp_path, "new", 0.9), "new").id)
                answers, model_id = await batcher.analyze([Item(f"text {i}")])
                assert answers[0].result.text == f"text {i}"
                seen.append(model_id)
            return seen
        finally:
            watcher.cancel()
            await batcher.stop()

    seen = asyncio.run(run())
    assert seen[0] == "old" and seen[-1] == "new" and len(seen) == 40
    assert seen == sorted(seen, key=lambda m: m == "new")  # never back to the old one


def test_reload_failure_keeps_serving(make_client, sqlite_url, tmp_path):
    from api.services.models import ModelManager

    calls = []

    def loader(path: Path) -> FakePipeline:
        calls.append(path)
        if len(calls) > 1:
            raise RuntimeError("corrupt weights")
        return FakePipeline()

    c = make_client(sqlite_url, models=ModelManager(tmp_path / "pinned", tmp_path / "registry", loader), require_auth=False)
    r = c.post("/v1/models/reload")
    assert r.status_code == 503 and "still serving pinned" in r.json()["detail"]
    assert c.post("/v1/classify", json={"answers": [{"text": "x"}]}).json()["model_id"] == "pinned"


def test_invalid_settings_fail_at_startup_with_the_variable_name(monkeypatch):
    from api.main import create_app
    from nps_nlp.errors import ConfigError

    monkeypatch.setenv("NPS_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("NPS_MAX_BATCH", "0")
    from fastapi.testclient import TestClient

    with pytest.raises(ConfigError) as info, TestClient(create_app(pipeline=FakePipeline())):
        pass
    assert "NPS_DATABASE_URL" in str(info.value) and "NPS_MAX_BATCH" in str(info.value)


def test_library_does_not_import_the_web_stack():
    import subprocess
    import sys

    library = ("import sys, nps_nlp, nps_nlp.pipeline; "
               "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'api') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", library], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    # the command line loads the service's commands (api.cli, an entry point) but not the web stack behind them
    cli = ("import sys, nps_nlp.cli; "
           "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'api.cli') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, check=True).stdout.strip() == "['api.cli']"


def test_keys_commands(tmp_path, monkeypatch):
    from nps_nlp.cli import app

    url = f"sqlite:///{tmp_path / 'keys.db'}"
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--name", "crm", "--scope", "ingest", "--scope", "read", "--database-url", url])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("nps_") and len(key) > 40
    r = runner.invoke(app, ["keys", "list", "--database-url", url])
    assert r.exit_code == 0 and "crm" in r.stdout and "ingest,read" in r.stdout and key not in r.stdout
    r = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "superuser", "--database-url", url])
    assert r.exit_code == 2 and "scopes must be among" in r.output
    from api.db import Database
    from api.services.keys import find_key

    db = Database(url)
    with db.session() as s:
        assert find_key(s, key) is not None
    assert runner.invoke(app, ["keys", "revoke", "1", "--database-url", url]).exit_code == 0
    with db.session() as s:
        assert find_key(s, key) is None
    db.dispose()
    r = runner.invoke(app, ["keys", "revoke", "42", "--database-url", url])
    assert r.exit_code == 2 and "no API key with id 42" in r.output


def test_serve_rejects_bad_settings_before_starting(tmp_path, monkeypatch):
    from nps_nlp.cli import app

    monkeypatch.setenv("NPS_MAX_BATCH", "-3")
    r = CliRunner().invoke(app, ["serve", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2 and "NPS_MAX_BATCH" in r.output
    r = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_api_package_ships_its_migrations():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"api*"' in pyproject and "migrations/versions/*.py" in pyproject
    assert list((ROOT / "api" / "migrations" / "versions").glob("0001_*.py"))


def test_loading_a_model_builds_the_lazy_parts_before_serving(default_model, tmp_path):
    """The warm-up runs two-sentence answers in each language family, so spaCy's sentence splitters (built on
    first use, up to 1 s each) exist before the first request instead of stalling a live batch; then the heap
    is frozen, so full garbage collections do not walk the model's objects."""
    import gc

    from api.services.models import ModelManager
    from nps_nlp.pipeline import FeedbackPipeline
    from nps_nlp.text import _nlp

    _nlp.cache_clear()
    gc.unfreeze()
    ModelManager(ROOT / "models" / "default", tmp_path / "registry", lambda path: FeedbackPipeline(default_model)).load()
    assert _nlp.cache_info().currsize == 3  # en, nl and no (nb and nn share one)
    assert gc.get_freeze_count() > 100_000  # the loaded model's objects are left out of the collector's scans

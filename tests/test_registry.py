import json
import shutil
from pathlib import Path

import pytest

from nps_nlp.errors import ConfigError, ModelLoadError
from nps_nlp.registry import ModelRegistry, resolve_model_path, shipped_default_model


@pytest.fixture
def model_dir(tmp_path):
    """A copy of the shipped default model's small files (enough for the registry, which never loads weights)."""
    src = shipped_default_model()
    dst = tmp_path / "runs" / "my-run" / "model-best"
    dst.mkdir(parents=True)
    for name in ("config.json", "metrics.json", "README.md"):
        shutil.copy(src / name, dst / name)
    return dst


def test_register_list_show_promote(tmp_path, model_dir):
    reg = ModelRegistry(tmp_path / "registry")
    assert reg.list() == [] and reg.active() is None and reg.active_version() == (None, None)
    a = reg.register(model_dir, model_id="a")
    b = reg.register(model_dir)
    assert b.id.startswith("my-run-model-best-")
    assert {e.id for e in reg.list()} == {"a", b.id}
    assert a.metrics["micro_f1"] == json.loads((model_dir / "metrics.json").read_text())["micro_f1"]
    assert not any(e.active for e in reg.list())
    reg.promote("a")
    assert reg.active().id == "a" and reg.get("a").active
    version = reg.active_version()
    reg.promote(b.id)
    assert reg.active().id == b.id and reg.active_version() != version
    history = json.loads((tmp_path / "registry" / "active.json").read_text())["history"]
    assert [h["id"] for h in history] == ["a", b.id] and history[1]["previous"] == "a"


def test_errors(tmp_path, model_dir):
    reg = ModelRegistry(tmp_path / "registry")
    with pytest.raises(ModelLoadError, match="not a model directory"):
        reg.register(tmp_path)
    reg.register(model_dir, model_id="x")
    with pytest.raises(ConfigError, match="already in registry"):
        reg.register(model_dir, model_id="x")
    with pytest.raises(ConfigError, match="may only hold"):
        reg.register(model_dir, model_id="../evil")
    with pytest.raises(ModelLoadError, match="known: x"):
        reg.promote("nope")
    (tmp_path / "registry" / "active.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match="corrupt"):
        reg.active()


def test_resolve_model_path(tmp_path, model_dir, monkeypatch):
    from nps_nlp._settings import get_settings

    monkeypatch.delenv("NPS_MODEL", raising=False)
    monkeypatch.setenv("NPS_REGISTRY_DIR", str(tmp_path / "registry"))
    get_settings.cache_clear()
    try:
        assert resolve_model_path() == shipped_default_model()
        reg = ModelRegistry(tmp_path / "registry")
        reg.promote(reg.register(model_dir, model_id="m1").id)
        assert resolve_model_path() == tmp_path / "registry" / "models" / "m1"
        assert resolve_model_path("elsewhere") == Path("elsewhere")
        monkeypatch.setenv("NPS_MODEL", str(model_dir))
        get_settings.cache_clear()
        assert resolve_model_path() == model_dir
    finally:
        get_settings.cache_clear()

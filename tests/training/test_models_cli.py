"""``nps-nlp models list|show|promote|register`` against a registry in a temporary directory."""

import json

from typer.testing import CliRunner

from nps_nlp.cli import app
from nps_nlp.registry import ModelRegistry

runner = CliRunner()


def invoke(*args):
    res = runner.invoke(app, ["models", *map(str, args)])
    res.text = " ".join(res.output.split())  # rich wraps long lines at the test terminal's width
    return res


def test_register_list_show_promote(tiny_run, tmp_path):
    reg = tmp_path / "registry"
    res = invoke("list", "--registry", reg)
    assert res.exit_code == 0 and "0 model(s)" in res.text and "nps-nlp models register" in res.text
    # a run directory registers its model-best
    res = invoke("register", tiny_run, "--id", "v1", "--registry", reg)
    assert res.exit_code == 0, res.output
    assert "registered v1" in res.text and "nps-nlp models promote v1" in res.text
    res = invoke("register", tiny_run / "model-last", "--registry", reg, "--format", "json")
    assert res.exit_code == 0, res.output
    second = json.loads(res.stdout)["id"]
    assert second.startswith("run-model-last-")
    res = invoke("list", "--registry", reg, "--format", "json")
    listed = json.loads(res.stdout)
    assert {e["id"] for e in listed} == {"v1", second} and not any(e["active"] for e in listed)
    metrics = json.loads((tiny_run / "model-best" / "metrics.json").read_text())
    v1 = next(e for e in listed if e["id"] == "v1")
    assert v1["metrics"]["micro_f1"] == metrics["micro_f1"] and v1["data_fingerprint"]
    res = invoke("list", "--registry", reg)
    assert "v1" in res.text and "no active model" in res.text
    res = invoke("promote", "v1", "--registry", reg)
    assert res.exit_code == 0 and "v1 is now the active model" in res.text and "was: none" in res.text
    assert ModelRegistry(reg).active_version()[0] == "v1"
    res = invoke("promote", second, "--registry", reg, "--format", "json")
    assert json.loads(res.stdout)["previous"] == "v1" and ModelRegistry(reg).active().id == second
    res = invoke("show", "v1", "--registry", reg, "--format", "json")
    shown = json.loads(res.stdout)
    assert shown["id"] == "v1" and not shown["active"]
    assert shown["trained_with"]["training_arguments"]["epochs"] == 3
    res = invoke("show", second, "--registry", reg)
    assert res.exit_code == 0 and "(active)" in res.text and "data fingerprint" in res.text


def test_register_and_promote_in_one_step_uses_the_settings_registry(tiny_run, tmp_path, monkeypatch):
    from nps_nlp._settings import get_settings

    monkeypatch.setenv("NPS_REGISTRY_DIR", str(tmp_path / "from-env"))
    get_settings.cache_clear()
    try:
        res = invoke("register", tiny_run, "--id", "x", "--promote")
        assert res.exit_code == 0, res.output
        assert ModelRegistry(tmp_path / "from-env").active().id == "x"
    finally:
        get_settings.cache_clear()


def test_errors_exit_2_with_a_reason(tiny_run, tmp_path):
    reg = tmp_path / "registry"
    res = invoke("register", tmp_path, "--registry", reg)
    assert res.exit_code == 2 and "not a model directory" in res.text
    assert invoke("register", tiny_run, "--id", "a", "--registry", reg).exit_code == 0
    res = invoke("register", tiny_run, "--id", "a", "--registry", reg)
    assert res.exit_code == 2 and "already in registry" in res.text
    res = invoke("promote", "nope", "--registry", reg)
    assert res.exit_code == 2 and "known: a" in res.text
    res = invoke("show", "nope", "--registry", reg)
    assert res.exit_code == 2 and "no model 'nope'" in res.text

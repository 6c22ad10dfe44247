"""The nps-nlp command line, end to end."""

import json

import pytest
from typer.testing import CliRunner

from nps_nlp.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache(e5_dir, monkeypatch):
    monkeypatch.setenv("NPS_CACHE_DIR", str(e5_dir.parents[1]))


def test_classify_text_as_json():
    res = runner.invoke(app, ["classify", "Great staff but the invoice was wrong again", "--format", "json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    themes = {t["theme"]: t["sentiment"] for t in lines[0]["themes"]}
    assert themes.get("staff_attitude") == "positive" and themes.get("billing_payment") == "negative"


def test_classify_csv_keeps_input_order(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("comment,score\nDe factuur klopte niet,3\n,5\nKjempebra service,10\n", encoding="utf-8")
    res = runner.invoke(app, ["classify", str(path), "--text-column", "comment", "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert [r["text"] for r in rows] == ["De factuur klopte niet", "", "Kjempebra service"]
    assert rows[1]["lang"] == "und" and rows[1]["themes"] == []


def test_classify_table_and_bad_input(tmp_path):
    res = runner.invoke(app, ["classify", "Snelle levering!"])
    assert res.exit_code == 0 and "Snelle levering!" in res.stdout
    res = runner.invoke(app, ["classify", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["classify", "x", "--model", str(tmp_path)])
    assert res.exit_code == 2 and "not an nps-nlp model directory" in res.output


def test_bad_setting_in_the_environment_is_named(monkeypatch):
    from nps_nlp._settings import get_settings

    monkeypatch.setenv("NPS_EVIDENCE", "sentences")
    monkeypatch.setenv("NPS_BATCH_SIZE", "0")
    get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["classify", "Great staff"])
    finally:
        get_settings.cache_clear()
    # a clear error and exit code 2, not a pydantic traceback: every bad variable named with what it takes
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "NPS_EVIDENCE: Input should be 'context' or 'clauses'" in res.output
    assert "NPS_BATCH_SIZE: Input should be greater than or equal to 1" in res.output


def test_train_and_evaluate_on_project_format(tmp_path, tiny_encoder_dir):
    rows = [
        {"text": t, "lang": lang, "score": s, "sentiment": sent, "themes": th}
        for t, lang, s, sent, th in [
            ("rude staff", "en", 2, "negative", {"staff_attitude": "negative"}),
            ("friendly staff", "en", 9, "positive", {"staff_attitude": "positive"}),
            ("factuur was fout", "nl", 3, "negative", {"billing_payment": "negative"}),
            ("feil faktura", "nb", 2, "negative", {"billing_payment": "negative"}),
        ] * 6
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "model"
    res = runner.invoke(app, ["train", "--data", str(data), "--format", "jsonl", "--output", str(out),
                              "--encoder", str(tiny_encoder_dir), "--epochs", "3", "--dev-fraction", "0.3"])
    assert res.exit_code == 0, res.output
    assert {"config.json", "head.safetensors", "README.md", "metrics.json", "taxonomy.yaml"} <= {
        p.name for p in (out / "model-best").iterdir()}
    config = json.loads((out / "model-best" / "config.json").read_text())
    assert config["training_arguments"]["epochs"] == 3 and config["data_fingerprint"]
    metrics_path = tmp_path / "metrics.json"
    res = runner.invoke(app, ["evaluate", "--model", str(out), "--data", str(data), "--format", "jsonl",
                              "--output", str(metrics_path)])
    assert res.exit_code == 0, res.output
    metrics = json.loads(metrics_path.read_text())
    assert {"micro_f1", "macro_f1", "per_language", "themes", "sentiment"} <= set(metrics)
    assert set(metrics["per_language"]) == {"en", "nl", "nb"}
    assert set(metrics["themes"]["per_label"]) == {"staff_attitude", "billing_payment"}
    confusion = metrics["sentiment"]["confusion"]
    assert sum(sum(row.values()) for row in confusion.values()) == len(rows)
    assert sum(confusion["negative"].values()) == 18 and sum(confusion["positive"].values()) == 6


def test_train_reports_bad_config(tmp_path):
    res = runner.invoke(app, ["train", "--data", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "m")])
    assert res.exit_code == 2 and "does not exist" in res.output
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\npath = "x"\n[output]\npath = "y"\n[train]\nbogus = 1\n')
    res = runner.invoke(app, ["train", "--config", str(cfg)])
    assert res.exit_code == 2 and "unknown config key 'train.bogus'" in res.output


def test_service_and_training_commands_come_from_their_entry_points():
    from importlib.metadata import entry_points

    import nps_nlp.cli

    declared = {ep.name: ep.value for ep in entry_points(group=nps_nlp.cli.ENTRY_POINT_GROUP)}
    assert declared == {"service": "api.cli", "training": "training.cli"}
    assert nps_nlp.cli.PLUGINS == ["service", "training"]
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for command in ("classify", "tag", "models", "retag", "serve", "keys", "report", "users", "train", "evaluate", "audit"):
        assert command in result.output


def test_a_plugin_that_fails_to_load_is_reported_and_the_others_load(monkeypatch, capsys):
    from importlib.metadata import EntryPoint

    import nps_nlp.cli

    group = nps_nlp.cli.ENTRY_POINT_GROUP
    fakes = [EntryPoint("broken", "nps_nlp_no_such_plugin", group), EntryPoint("training", "training.cli", group)]
    monkeypatch.setattr(nps_nlp.cli, "entry_points", lambda group: [ep for ep in fakes if ep.group == group])
    assert nps_nlp.cli.load_plugins() == ["training"]
    warning = capsys.readouterr().err
    assert "'broken' commands (nps_nlp_no_such_plugin) did not load" in warning and "No module named" in warning

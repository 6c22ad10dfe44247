"""``nps-nlp train CONFIG --set ...`` end to end with the tiny encoder, the run directory layout, atomic
writes, registration and the contrastive mode's wiring."""

import json
import tomllib

import pandas as pd
import pytest
from training_rows import make_rows, write_jsonl
from typer.testing import CliRunner

from nps_nlp import FeedbackClassifier
from nps_nlp.cli import app
from nps_nlp.registry import ModelRegistry
from training import TrainingArguments, train

runner = CliRunner()


def test_config_with_overrides_end_to_end(tmp_path, tiny_encoder_dir):
    df = pd.DataFrame(make_rows(4)).rename(columns={"text": "comment", "themes": "labels"})
    df["labels"] = df["labels"].map(lambda t: "|".join(f"{k}:{v}" for k, v in t.items()))
    df.loc[3, "comment"] = ""  # dropped with --drop-invalid, and reported
    df.to_csv(tmp_path / "answers.csv", index=False)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"""
[data]
path = "{tmp_path / 'answers.csv'}"
dev_fraction = 0.3
label_delimiter = "|"
[data.columns]
text = "comment"
[model]
encoder = "{tiny_encoder_dir}"
[train]
epochs = 9
[output]
path = "{tmp_path / 'run'}"
""", encoding="utf-8")
    registry = tmp_path / "registry"
    res = runner.invoke(app, ["train", str(cfg), "--set", "train.epochs=2", "--set", "data.columns.themes=labels",
                              "--drop-invalid", "--register", "--registry", str(registry), "--id", "first", "-q"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    assert {"model-best", "model-last", "config.toml", "metrics.json", "training.log", "validation.json"} <= {
        p.name for p in run.iterdir()}
    assert not (tmp_path / ".run.tmp").exists()
    resolved = tomllib.loads((run / "config.toml").read_text())
    assert resolved["train"]["epochs"] == 2 and resolved["data"]["columns"] == {"text": "comment", "themes": "labels"}
    assert resolved["data"]["drop_invalid"] is True and resolved["output"]["register"] is True
    # dropped rows are reported on the terminal, in validation.json and in the log
    assert "dropped 1 problem(s)" in res.output and "row 4" in res.output
    assert "hint:" in res.output and "contrastive" in res.output
    validation = json.loads((run / "validation.json").read_text())
    assert [(p["kind"], p["where"]) for p in validation["dropped"]] == [("empty_text", "row 4")]
    log = (run / "training.log").read_text()
    assert "dropped: row 4: the text ('comment') is empty" in log
    assert "mode frozen, cpu (" in log  # where it trained (train.device), with the thread count
    assert 'hint: under 1000 answers with themes, model.mode = "contrastive"' in log  # few labels, frozen mode
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_dev"] == 35 and metrics["data_fingerprints"]["train"]
    assert metrics["metrics"]["micro_f1"] is not None and "calibration" in metrics["metrics"]
    for name in ("model-best", "model-last"):
        config = json.loads((run / name / "config.json").read_text())
        assert config["training_arguments"]["epochs"] == 2 and config["data_fingerprint"]
        assert config["versions"]["nps_nlp"] and (run / name / "README.md").is_file()
    # model-best is a complete, loadable model; the run directory itself resolves to it
    clf = FeedbackClassifier.load(run / "model-best")
    assert set(clf.labels_) == {"staff_attitude", "billing_payment", "delivery_waiting"}
    entry = ModelRegistry(registry).get("first")
    assert entry.data_fingerprint == metrics["data_fingerprints"]["train"] and entry.metrics["micro_f1"] is not None
    assert "registered as first" in res.output
    res = runner.invoke(app, ["evaluate", "--model", str(run), "--data", str(tmp_path / "answers.csv"),
                              "--column", "text=comment", "--column", "themes=labels"])
    assert res.exit_code == 0, res.output
    assert "micro-F1" in res.output and "expected calibration error" in res.output


def test_failed_run_keeps_the_previous_output(tmp_path, monkeypatch, tiny_encoder_dir):
    data = write_jsonl(tmp_path / "d.jsonl", make_rows())
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("previous run")

    def boom(self, *a, **kw):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(FeedbackClassifier, "fit", boom)
    with pytest.raises(RuntimeError):
        train(TrainingArguments(data=str(data), output=str(out), encoder=str(tiny_encoder_dir)), show_progress_bar=False)
    assert (out / "keep.txt").read_text() == "previous run"
    assert not (tmp_path / ".run.tmp").exists()


def test_contrastive_mode_tunes_the_encoder_first(tmp_path, monkeypatch, tiny_encoder_dir):
    import training.contrastive

    calls = {}

    def fake(texts, labels, *, encoder, output_dir, epochs, pairs_per_example, seed, show_progress_bar, **kw):
        calls.update(n=len(texts), labels=labels[0], encoder=encoder, output_dir=output_dir, epochs=epochs,
                     pairs=pairs_per_example, seed=seed, sentiments=kw["sentiments"])
        return tiny_encoder_dir  # stands in for the tuned encoder

    monkeypatch.setattr(training.contrastive, "contrastive_finetune", fake)
    data = write_jsonl(tmp_path / "d.jsonl", make_rows())
    args = TrainingArguments.from_file(None, data=str(data), output=str(tmp_path / "run"),
                                       overrides=["model.mode=contrastive", "train.contrastive_epochs=2",
                                                  "train.contrastive_pairs_per_example=4", "train.seed=7",
                                                  "train.epochs=1", f"model.encoder={json.dumps(str(tiny_encoder_dir))}"])
    result = train(args, show_progress_bar=False)
    assert calls["n"] == 36 and calls["labels"] == {"staff_attitude": "negative"} and len(calls["sentiments"]) == 36
    assert (calls["epochs"], calls["pairs"], calls["seed"], calls["encoder"]) == (2, 4, 7, str(tiny_encoder_dir))
    assert calls["output_dir"].parent.name == ".run.tmp"  # tuned inside the temporary run directory
    assert FeedbackClassifier.load(result["model_best"]).labels_
    assert tomllib.loads((tmp_path / "run" / "config.toml").read_text())["model"]["mode"] == "contrastive"
    assert "hint:" not in (tmp_path / "run" / "training.log").read_text()  # already in contrastive mode


def test_cli_device_option(tmp_path, monkeypatch):
    """--device is train.device: a GPU that torch does not see stops the run with the fix, before anything is
    written."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = write_jsonl(tmp_path / "d.jsonl", make_rows())
    res = runner.invoke(app, ["train", "--data", str(data), "--output", str(tmp_path / "run"), "--device", "cuda"])
    assert res.exit_code == 2, res.output  # the CLI's exit code for bad settings
    assert "sees no CUDA GPU" in res.output and "'auto'" in res.output
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.tmp").exists()

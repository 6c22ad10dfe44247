"""Refitting only the urgency model of a model directory: the other files stay byte for byte, the refitted model
reads urgency, the command line does the same, and too few urgent answers are refused without a trace."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nps_nlp.cli import app
from nps_nlp.errors import DataValidationError
from training.refit_urgency import refit_urgency

ROOT = Path(__file__).resolve().parents[2]


def _urgency_rows(n_urgent: int, n_calm: int) -> list[dict]:
    lines = (ROOT / "data" / "seed" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    urgent = [r for r in rows if r.get("urgency") in ("high", "critical")]
    calm = [r for r in rows if r.get("urgency") == "none"]
    rng = random.Random(0)
    return rng.sample(urgent, n_urgent) + rng.sample(calm, n_calm)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}


def test_refit_in_place_changes_only_the_urgency_files(tiny_model_dir, tmp_path):
    from nps_nlp import FeedbackClassifier, FeedbackPipeline

    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    before = _files(model)
    data = _write(tmp_path / "urgency.jsonl", _urgency_rows(40, 40))
    result = refit_urgency(model, data)
    after = _files(model)
    assert result["n_examples"] == {"none": 40, "high": result["n_examples"]["high"],
                                    "critical": 40 - result["n_examples"]["high"]}
    assert {name for name in after if after[name] != before.get(name)} == {"urgency_model.json", "config.json"}
    old, new = json.loads(before["config.json"]), json.loads(after["config.json"])
    assert new.pop("urgency_model")["n_examples"] == result["n_examples"]
    old.pop("urgency_model", None)
    assert new == old
    clf = FeedbackClassifier.load(model)
    assert clf.urgency_model_.n_examples_ == result["n_examples"]
    signal = clf.predict(["the charger sparked and burnt my hand"], scores=[1])[0].urgency_signal
    assert set(signal) == {"critical", "high", "level"}
    # the fusion of cues, reading and score is refitted with it and decides the pipeline's alerts
    fusion = clf.urgency_model_.fusion_
    assert fusion is not None and json.loads(after["urgency_model.json"])["fusion"] == fusion.to_dict()
    assert "cue:safety" in fusion.feature_names_ and new == old
    calls = []
    decide = fusion.decide
    fusion.decide = lambda *args, **kw: calls.append(args) or decide(*args, **kw)
    answer = FeedbackPipeline(clf).analyze(["the charger sparked and burnt my hand"], [1])[0]
    assert len(calls) == 1 and calls[0][0]["cue:safety"] == 1.0 and calls[0][3] == 1
    fused = decide(*calls[0])[0]
    assert answer.urgency.level == fused if fused != "none" else answer.urgency.level in ("none", "low", "medium")


def test_refit_to_a_new_directory_keeps_the_source(tiny_model_dir, tmp_path):
    before = _files(tiny_model_dir)
    data = _write(tmp_path / "urgency.jsonl", _urgency_rows(30, 30))
    result = refit_urgency(tiny_model_dir, data, output=tmp_path / "refitted")
    assert _files(tiny_model_dir) == before
    assert (tmp_path / "refitted" / "urgency_model.json").is_file() and result["model"] == str(tmp_path / "refitted")
    with pytest.raises(DataValidationError, match="already exists"):
        refit_urgency(tiny_model_dir, data, output=tmp_path / "refitted")


def test_too_few_urgent_answers_are_refused_and_nothing_is_left(tiny_model_dir, tmp_path):
    data = _write(tmp_path / "few.jsonl", _urgency_rows(5, 40))
    with pytest.raises(DataValidationError, match="too few"):
        refit_urgency(tiny_model_dir, data, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_line_refits(tiny_model_dir, tmp_path):
    data = _write(tmp_path / "urgency.jsonl", _urgency_rows(30, 30))
    res = CliRunner().invoke(app, ["refit-urgency", str(tiny_model_dir), "--data", str(data),
                                   "--output", str(tmp_path / "cli"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cli" / "config.json").read_text(encoding="utf-8"))["urgency_model"]["n_examples"][
        "none"] == 30


def test_a_lower_precision_target_calls_at_least_as_many_alerts(tiny_model_dir, tmp_path):
    from nps_nlp import FeedbackClassifier

    data = _write(tmp_path / "urgency.jsonl", _urgency_rows(40, 40))
    strict = refit_urgency(tiny_model_dir, data, output=tmp_path / "strict", precision=0.95)
    loose = refit_urgency(tiny_model_dir, data, output=tmp_path / "loose", precision=0.6)
    assert strict["precision"] == 0.95 and loose["precision"] == 0.6
    assert loose["alert_threshold"] <= strict["alert_threshold"]
    assert FeedbackClassifier.load(tmp_path / "loose").urgency_model_.precision == 0.6
    with pytest.raises(DataValidationError, match="precision"):
        refit_urgency(tiny_model_dir, data, output=tmp_path / "bad", precision=1.5)

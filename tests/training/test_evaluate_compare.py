"""Evaluation extras (theme confusion, calibration) and the paired-bootstrap model comparison."""

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from nps_nlp.cli import app
from training.compare import paired_bootstrap, verdict
from training.evaluate import expected_calibration_error, theme_confusion

runner = CliRunner()


def test_theme_confusion_counts():
    gold = [{"a"}, {"a"}, {"a", "b"}, {"b"}, set()]
    pred = [{"a"}, {"b"}, {"b"}, {"a"}, {"a"}]
    out = theme_confusion(gold, pred)
    assert out["a"] == {"support": 3, "missed": 2, "predicted_instead": {"b": 1}, "nothing_predicted": 0,
                        "false_positives": 2, "false_positive_with": {"b": 1, "(no theme)": 1}}
    assert out["b"]["missed"] == 1 and out["b"]["predicted_instead"] == {"a": 1}


def test_expected_calibration_error():
    # perfectly calibrated bins: 0.25 right 1 in 4, 0.75 right 3 in 4
    conf = [0.25] * 4 + [0.75] * 4
    hit = [1, 0, 0, 0, 1, 1, 1, 0]
    assert expected_calibration_error(conf, hit)["ece"] == 0.0
    out = expected_calibration_error([0.9, 0.9, 0.1, 0.1], [0, 0, 1, 1])  # confidently wrong
    assert out["ece"] == pytest.approx(0.9) and [b["n"] for b in out["bins"]] == [2, 2]
    assert expected_calibration_error([1.0], [1])["bins"][0]["high"] == 1.0  # 1.0 lands in the last bin
    assert expected_calibration_error([], [])["ece"] is None


def test_paired_bootstrap_identical_and_better():
    rng = np.random.default_rng(1)
    labels = ["a", "b", "c"]
    gold = [set(rng.choice(labels, size=rng.integers(1, 3), replace=False)) for _ in range(300)]
    same = paired_bootstrap(gold, gold, gold, labels, n_boot=200)
    assert same["micro_f1"]["diff"] == same["micro_f1"]["ci_low"] == same["micro_f1"]["ci_high"] == 0.0
    assert not same["micro_f1"]["significant"]
    # A misses a third of its themes, B is right: B is clearly better, and the CI holds the point estimate
    weaker = [set(sorted(g)[:-1]) if i % 3 == 0 else g for i, g in enumerate(gold)]
    out = paired_bootstrap(gold, weaker, gold, labels, n_boot=500, seed=3)
    m = out["micro_f1"]
    assert m["b"] == 1.0 and m["a"] < 1.0 and m["significant"] and m["p_b_better"] == 1.0
    assert m["ci_low"] <= m["diff"] <= m["ci_high"] and m["ci_low"] > 0
    assert verdict(m).startswith("B is better: +") and verdict(out["macro_f1"], "macro-F1").endswith("macro-F1")
    flipped = paired_bootstrap(gold, gold, weaker, labels, n_boot=500, seed=3)["micro_f1"]
    assert flipped["diff"] == -m["diff"] and verdict(flipped).startswith("A is better: -")
    # a small, noisy difference is not called significant
    noisy = [g if i != 5 else set() for i, g in enumerate(gold)]
    assert verdict(paired_bootstrap(gold, gold, noisy, labels, n_boot=300)["micro_f1"]).startswith(
        "no significant difference")


def test_evaluate_cli_has_confusion_and_calibration(tiny_run, tmp_path):
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["evaluate", "--model", str(tiny_run), "--data", str(tiny_run.parent / "dev.jsonl"),
                              "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.output
    m = json.loads(out.read_text())
    # the confusion table lists the themes that were missed or wrongly found, when there are any
    confused = any(v["missed"] or v["false_positives"] for v in m["theme_confusion"].values())
    assert ("confusion between themes" in res.output) == confused
    assert {"micro_f1", "macro_f1", "themes", "per_language", "theme_confusion", "calibration"} <= set(m)
    for label, row in m["themes"]["per_label"].items():
        assert m["theme_confusion"][label]["support"] == row["support"]
        assert m["theme_confusion"][label]["missed"] == round(row["support"] * (1 - row["recall"]))
    cal = m["calibration"]
    assert {"theme_confidence", "theme_probability", "sentiment"} <= set(cal)
    for block in cal.values():
        assert 0.0 <= block["ece"] <= 1.0 and sum(b["n"] for b in block["bins"]) == block["n"]
    assert cal["sentiment"]["n"] == 18 and cal["theme_probability"]["n"] == 18 * 3


def test_compare_cli_same_model_and_a_worse_one(tiny_run, tmp_path):
    dev = str(tiny_run.parent / "dev.jsonl")
    res = runner.invoke(app, ["compare", str(tiny_run), str(tiny_run / "model-last"), dev, "--n-boot", "200",
                              "--output-format", "json"])
    assert res.exit_code == 0, res.output
    same = json.loads(res.stdout)
    for block in [same["overall"], *same["per_language"].values()]:
        assert block["micro_f1"]["diff"] == block["micro_f1"]["ci_low"] == block["micro_f1"]["ci_high"] == 0.0
    assert set(same["per_language"]) == {"en", "nl", "nb"}
    assert same["verdict"].startswith("no significant difference: +0.000")
    # a worse B without training: the same model with thresholds so high that it never finds a trained theme
    worse = tmp_path / "worse"
    shutil.copytree(tiny_run / "model-best", worse)
    config = json.loads((worse / "config.json").read_text())
    config["thresholds"] = dict.fromkeys(config["thresholds"], 1.01)
    (worse / "config.json").write_text(json.dumps(config))
    out = tmp_path / "cmp.json"
    res = runner.invoke(app, ["compare", str(tiny_run), str(worse), dev, "--n-boot", "300", "--output", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    m = result["overall"]["micro_f1"]
    assert m["diff"] < 0 and m["ci_low"] <= m["diff"] <= m["ci_high"]
    assert result["overall"]["macro_f1"]["diff"] < 0 and result["overall"]["macro_f1"]["significant"]
    assert "macro-f1" in res.output and "95% CI" in res.output and result["verdict"] in res.output.replace("\n", " ")


def test_compare_cli_errors(tiny_run, tmp_path):
    res = runner.invoke(app, ["compare", str(tiny_run), str(tmp_path), str(tiny_run.parent / "dev.jsonl")])
    assert res.exit_code == 2 and "not an nps-nlp model directory" in res.output
    unlabelled = tmp_path / "u.jsonl"
    unlabelled.write_text('{"text": "hello"}\n')
    res = runner.invoke(app, ["compare", str(tiny_run), str(tiny_run), str(unlabelled)])
    assert res.exit_code == 2 and "neither theme nor sentiment labels" in res.output


def test_slices_use_the_detected_language_when_the_data_has_no_lang_column(tiny_run, tmp_path):
    rows = [json.loads(line) for line in (tiny_run.parent / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    no_lang = tmp_path / "no-lang.jsonl"
    no_lang.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "lang"}) + "\n" for r in rows))
    res = runner.invoke(app, ["compare", str(tiny_run), str(tiny_run), str(no_lang), "--n-boot", "100",
                              "--output-format", "json"])
    assert res.exit_code == 0, res.output
    slices = set(json.loads(res.stdout)["per_language"])
    assert "unknown" not in slices and slices <= {"en", "nl", "nb", "nn", "other", "und"}
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["evaluate", "--model", str(tiny_run), "--data", str(no_lang), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "unknown" not in json.loads(out.read_text())["per_language"]

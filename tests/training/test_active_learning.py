"""``suggest``: uncertainty, diversity, language balance, pre-labels; the CLI end to end."""

import csv
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from nps_nlp.cli import app
from nps_nlp.errors import DataValidationError
from training.active_learning import ModelOutputs, model_outputs, sentiment_uncertainty, suggest, theme_uncertainty

runner = CliRunner()


def test_theme_uncertainty_peaks_at_the_threshold():
    u = theme_uncertainty(np.array([[0.0, 0.1, 0.2, 0.3, 0.6, 1.0]]), [0.2] * 6)[0]
    assert u[2] == pytest.approx(1.0)  # p == threshold: a coin flip
    assert u[0] == pytest.approx(0.0, abs=1e-6) and u[-1] == pytest.approx(0.0, abs=1e-6)
    assert u[1] < u[2] and u[3] < u[2] and u[4] < u[3]


def test_sentiment_uncertainty_range():
    u = sentiment_uncertainty(np.array([[1 / 3, 1 / 3, 1 / 3], [0.98, 0.01, 0.01], [0.5, 0.5, 0.0]]))
    assert u[0] == pytest.approx(1.0) and u[1] < 0.15 and 0.5 < u[2] < 0.7


def _synthetic(texts, langs, scores, vectors, model):
    """ModelOutputs whose theme probability sits ``scores`` away from the threshold (1 = at it)."""
    t = model.thresholds_[model.labels_[0]]
    proba = np.zeros((len(texts), len(model.labels_)))
    proba[:, 0] = t + (1 - np.asarray(scores)) * (1 - t)
    sentiment = np.tile([0.98, 0.01, 0.01], (len(texts), 1))
    return ModelOutputs(list(langs), proba, sentiment, np.asarray(vectors, dtype=np.float32), list(model.labels_),
                        dict(model.thresholds_))


def test_diversity_spreads_picks_over_clusters(tiny_model):
    # 12 near-copies of one very uncertain answer (A) and 3 slightly less uncertain groups B, C, D
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4]
    groups = [0] * 12 + [1] * 4 + [2] * 4 + [3] * 4
    vectors = centres[groups] + 0.01 * rng.normal(size=(len(groups), 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [0.99] * 12 + [0.9] * 4 + [0.85] * 4 + [0.8] * 4
    texts = [f"answer {g} number {i}" for i, g in enumerate(groups)]
    out = _synthetic(texts, ["en"] * len(texts), scores, vectors, tiny_model)
    top_only = suggest(tiny_model, texts, n=4, outputs=out, pool_factor=1, sentiment_weight=0.0)
    diverse = suggest(tiny_model, texts, n=4, outputs=out, pool_factor=6, sentiment_weight=0.0)
    assert {groups[s.row] for s in top_only} == {0}
    assert sorted(groups[s.row] for s in diverse) == [0, 1, 2, 3]
    assert diverse[0].row < 12 and diverse[0].distance == 1.0 and all(s.distance > 0.5 for s in diverse[1:])
    assert "unlike earlier picks" in diverse[1].reason


def test_languages_take_turns_and_duplicates_count_once(tiny_model):
    langs = ["en"] * 30 + ["nl"] * 6 + ["nb"] * 6
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(len(langs), 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = [0.95] * 30 + [0.6] * 12  # English answers are all more uncertain
    texts = [f"text {i}" for i in range(len(langs))]
    texts[1] = texts[0].upper()  # a duplicate (case and spacing do not matter)
    out = _synthetic(texts, langs, scores, vectors, tiny_model)
    picks = suggest(tiny_model, texts, n=9, outputs=out, pool_factor=5)
    assert Counter(p.lang for p in picks) == {"en": 3, "nl": 3, "nb": 3}
    assert not {0, 1} <= {p.row for p in picks}
    unbalanced = suggest(tiny_model, texts, n=9, outputs=out, pool_factor=1, balance_languages=False)
    assert {p.lang for p in unbalanced} == {"en"}


def test_suggest_on_real_answers_gives_prelabels_and_reasons(tiny_model, seed_train):
    sample = seed_train[::40]
    texts = [e.text for e in sample] + ["", "👍", "Das Essen war kalt und der Kellner unfreundlich."]
    out = model_outputs(tiny_model, texts)
    picks = suggest(tiny_model, texts, n=8, ids=[e.id for e in sample] + ["empty", "emoji", "german"], outputs=out)
    assert len(picks) == 8 and [p.rank for p in picks] == list(range(1, 9))
    assert len({p.row for p in picks}) == 8 and not {p.id for p in picks} & {"empty", "emoji", "german"}
    for p in picks:
        assert p.id == sample[p.row].id and p.text == texts[p.row] and p.reason
        result = tiny_model.predict(p.text, lang=p.lang)
        assert p.themes == {t.theme: t.sentiment for t in result.themes} and p.sentiment == result.sentiment
    assert picks[0].uncertainty >= max(p.uncertainty for p in picks[1:]) - 1e-9 or picks[1].distance < 1


def test_suggest_rejects_bad_arguments(tiny_model):
    with pytest.raises(DataValidationError, match="n must be at least 1"):
        suggest(tiny_model, ["a b c"], n=0)
    with pytest.raises(DataValidationError, match="one id per answer"):
        suggest(tiny_model, ["a b c", "d e f"], ids=["1"])


def test_suggest_cli_writes_a_trainable_file(tiny_model_dir, seed_train, tmp_path):
    from nps_nlp.datasets import load_examples

    path = tmp_path / "new.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["comment", "score"])
        for e in seed_train[5::50]:
            writer.writerow([e.text, e.score])
    out = tmp_path / "picks.csv"
    res = runner.invoke(app, ["suggest", str(path), "-n", "5", "--model", str(tiny_model_dir), "--text-column", "comment",
                              "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and "answer(s) to label next" in res.stdout
    inputs = [e.text for e in seed_train[5::50]]
    assert all(r["text"] == inputs[int(r["row"]) - 1] for r in rows)  # row = 1-based data row of the input
    picks = load_examples(out)  # the project's own format: correct the pre-labels and train on it
    assert [p.text for p in picks] == [r["text"] for r in rows] and all(p.themes is not None for p in picks)

    res = runner.invoke(app, ["suggest", str(path), "--model", str(tiny_model_dir), "--text-column", "comment",
                              "--output", str(tmp_path / "picks.txt")])
    assert res.exit_code == 2 and "expected one of .csv, .jsonl" in res.output
    res = runner.invoke(app, ["suggest", str(tmp_path / "missing.csv"), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2 and "not found" in res.output

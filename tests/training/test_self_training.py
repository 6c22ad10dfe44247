"""Self-training (``data.unlabelled_path``): pseudo-labels, the second fit, the CLI and its errors."""

import json
import tomllib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from training_rows import make_rows, write_jsonl
from typer.testing import CliRunner

from nps_nlp import FeedbackClassifier
from nps_nlp.cli import app
from nps_nlp.errors import ConfigError, DataValidationError
from training import TrainingArguments, train
from training.self_training import pseudo_label, self_train, weak_sentiment

runner = CliRunner()
UNLABELLED = ["the staff were so rude to me", "wrong amount on my invoice", "parcel arrived late again",
              "personeel was onbeleefd", "fakturaen var feil", "", "wrong amount on my invoice"]


class _Fixed:
    """A fitted classifier stand-in with fixed probabilities."""

    labels_ = ["a", "b"]
    thresholds_ = {"a": 0.5, "b": 0.3}

    def predict_proba(self, texts):
        table = {"sure a": [0.9, 0.1], "sure none": [0.2, 0.05], "unsure a": [0.55, 0.1], "unsure b": [0.1, 0.35],
                 "sure both": [0.7, 0.6]}
        return np.array([table[t] for t in texts])


def test_pseudo_label_keeps_answers_sure_about_every_theme():
    texts = ["sure a", "unsure a", "sure none", "unsure b", "sure both"]
    indices, themes = pseudo_label(_Fixed(), texts, margin=0.1)
    assert indices == [0, 2, 4]
    assert themes == [{"a": None}, {}, {"a": None, "b": None}]
    assert pseudo_label(_Fixed(), texts, margin=0.0)[0] == [0, 1, 2, 3, 4]
    assert pseudo_label(_Fixed(), [], margin=0.1) == ([], [])
    with pytest.raises(ValueError, match="margin"):
        pseudo_label(_Fixed(), texts, margin=1.0)


def test_self_train_fits_again_on_labelled_and_pseudo_labelled(tiny_encoder_dir):
    rows = make_rows(3)
    texts, themes = [r["text"] for r in rows], [r["themes"] for r in rows]
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=3)
    model, info = self_train(clf, texts, themes, UNLABELLED + texts[:2], sentiment=[r["sentiment"] for r in rows],
                             margin=0.0)
    # empty, repeated and already-labelled answers are not in the pool; margin 0 keeps every pool answer
    assert info["unlabelled"] == 5 and info["pseudo_labelled"] == 5
    assert sum(info["pseudo_themes"].values()) >= 1 and set(info["pseudo_themes"]) <= set(clf.labels_)
    assert model is not clf and model.n_examples_ == len(texts) + 5 and clf.n_examples_ == len(texts)
    assert model.get_params() == clf.get_params()
    with pytest.raises(DataValidationError, match="unlabelled answers"):
        self_train(FeedbackClassifier(encoder=str(tiny_encoder_dir)), texts, themes, ["", texts[0]])


def test_weak_sentiment_keeps_the_score_only_where_the_text_agrees():
    from nps_nlp import FeedbackResult

    def reading(score: float) -> FeedbackResult:
        return FeedbackResult("some answer", "en", 1.0, "neutral", score)

    assert weak_sentiment(reading(0.4), 10) == "positive" and weak_sentiment(reading(0.0), 9) == "positive"
    assert weak_sentiment(reading(-0.6), 2) == "negative"
    assert weak_sentiment(reading(-0.6), 10) is None and weak_sentiment(reading(0.6), 1) is None  # they disagree
    assert weak_sentiment(reading(0.6), 7) is None and weak_sentiment(reading(-0.6), 5) is None  # no sure band
    assert weak_sentiment(reading(0.6), None) is None
    assert weak_sentiment(FeedbackResult(" ", "und", 0.0, "neutral", 0.0), 10) is None


def test_self_train_uses_history_scores_as_weak_sentiment_labels(tiny_encoder_dir, monkeypatch):
    rows = make_rows(3)
    texts, themes = [r["text"] for r in rows], [r["themes"] for r in rows]
    # no answer is sure about its themes: only the scores can bring history answers in
    monkeypatch.setattr("training.self_training.pseudo_label", lambda model, pool, *, margin: ([], []))
    # the tiny random encoder's readings lean either way by chance (and with the tests run before it): read every
    # history answer as neutral, which the rule lets the score decide, so that the decisive scores always join
    real_weak = weak_sentiment
    monkeypatch.setattr("training.self_training.weak_sentiment",
                        lambda result, score: real_weak(SimpleNamespace(text=result.text, sentiment_score=0.0), score))
    fitted = []
    real_fit = FeedbackClassifier.fit

    def spy(self, X, y=None, *, sentiment=None, groups=None):
        fitted.append((list(X), list(y), list(sentiment)))
        return real_fit(self, X, y, sentiment=sentiment, groups=groups)

    monkeypatch.setattr(FeedbackClassifier, "fit", spy)
    history = ["the staff were so rude to me", "wrong amount on my invoice", "lovely people", "meh"]
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=2)
    model, info = self_train(clf, texts, themes, history, scores=[0, 1, 10, 7], margin=0.1)
    assert set(info["weak_sentiment"]) <= {"positive", "negative"}
    x, y, sentiment = fitted[-1]
    added = {t: s for t, th, s in zip(x[len(texts):], y[len(texts):], sentiment[len(texts):], strict=True)}
    # a passive (7) never becomes a weak label; the history answers join without theme labels
    assert "meh" not in added and all(s in ("positive", "negative") for s in added.values())
    assert all(th is None for th in y[len(texts):]) and len(added) == sum(info["weak_sentiment"].values())
    with pytest.raises(DataValidationError, match="4 unlabelled answers but 2 scores"):
        self_train(clf, texts, themes, history, scores=[1, 2])


def test_self_train_rounds_pseudo_label_again_with_the_latest_model(tiny_encoder_dir, monkeypatch):
    rows = make_rows(3)
    texts, themes = [r["text"] for r in rows], [r["themes"] for r in rows]
    labellers = []
    real = pseudo_label

    def spy(model, pool, *, margin):
        labellers.append(model)
        return real(model, pool, margin=margin)

    monkeypatch.setattr("training.self_training.pseudo_label", spy)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=2)
    model, info = self_train(clf, texts, themes, UNLABELLED, margin=0.0, rounds=2)
    assert info["pseudo_labelled_per_round"] == [5, 5] and info["pseudo_labelled"] == 5
    # round 2 labels with round 1's model, not the first one; the result is a third, fresh model
    assert labellers[0] is clf and labellers[1] is not clf and model not in labellers
    assert model.n_examples_ == len(texts) + 5
    with pytest.raises(ValueError, match="rounds"):
        self_train(clf, texts, themes, UNLABELLED, rounds=0)


def test_train_cli_with_unlabelled_answers(tmp_path, tiny_encoder_dir):
    data = write_jsonl(tmp_path / "train.jsonl", make_rows(3))
    pd.DataFrame({"text": UNLABELLED, "score": range(len(UNLABELLED))}).to_csv(tmp_path / "all.csv", index=False)
    # the unlabelled file is CSV while the labelled data is JSONL: without data.format each goes by its extension
    res = runner.invoke(app, ["train", "--data", str(data), "--unlabelled", str(tmp_path / "all.csv"),
                              "--output", str(tmp_path / "run"), "--encoder", str(tiny_encoder_dir), "--epochs", "2",
                              "--set", "train.self_training_margin=0", "--set", "train.self_training_rounds=2", "-q"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["self_training"]["unlabelled"] == 5 and metrics["self_training"]["pseudo_labelled"] == 5
    assert metrics["self_training"]["pseudo_labelled_per_round"] == [5, 5]
    assert metrics["data_fingerprints"]["unlabelled"]
    assert tomllib.loads((run / "config.toml").read_text())["data"]["unlabelled_path"] == str(tmp_path / "all.csv")
    assert "self-training: 5 of 5 unlabelled answers pseudo-labelled" in (run / "training.log").read_text()
    config = json.loads((run / "model-best" / "config.json").read_text())
    assert config["self_training"]["pseudo_labelled"] == 5 and config["n_examples"] == 27 + 5


def test_unlabelled_data_errors_come_before_any_compute(tmp_path, tiny_encoder_dir, monkeypatch):
    rows = make_rows(3)
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(ConfigError, match="data.unlabelled_path .* does not exist"):
        TrainingArguments(data=str(data), output=str(tmp_path / "run"), unlabelled_data=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match="self_training_margin"):
        TrainingArguments(data=str(data), output=str(tmp_path / "run"), self_training_margin=1.5)
    with pytest.raises(ConfigError, match="self_training_rounds must be at least 1"):
        TrainingArguments(data=str(data), output=str(tmp_path / "run"), self_training_rounds=0)
    # every unlabelled answer is labelled already: nothing to self-train on, said before the encoder loads
    same = write_jsonl(tmp_path / "same.jsonl", [{"id": r["id"], "text": r["text"]} for r in rows])
    monkeypatch.setattr(FeedbackClassifier, "load_encoder", lambda self: pytest.fail("compute before validation"))
    args = TrainingArguments(data=str(data), output=str(tmp_path / "run"), unlabelled_data=str(same),
                             encoder=str(tiny_encoder_dir))
    with pytest.raises(DataValidationError, match="none is usable"):
        train(args, show_progress_bar=False)
    assert not (tmp_path / "run").exists()

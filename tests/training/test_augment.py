"""Word-by-word translation of training answers (``data.translate``): dictionaries, the translation, the run."""

import json
import tomllib

import numpy as np
import pytest
from training_rows import make_rows, write_jsonl
from typer.testing import CliRunner

from nps_nlp import FeedbackClassifier
from nps_nlp.cli import app
from nps_nlp.datasets import Example
from nps_nlp.errors import ConfigError, DataValidationError
from training import TrainingArguments
from training.augment import (
    coverage,
    dictionary_path,
    load_dictionaries,
    load_dictionary,
    shipped_dictionaries,
    translate_examples,
    translate_words,
)

runner = CliRunner()


def test_translate_words_keeps_what_it_does_not_know():
    words = {"the": "de", "invoice": "factuur", "was": "was", "wrong": "fout", "didn't": "niet", "staff": "het personeel"}
    assert translate_words("The invoice was wrong again!", words) == "De factuur was fout again!"
    assert translate_words("staff didn't call (3x)", words) == "het personeel niet call (3x)"
    assert translate_words("Staff didn’t", words) == "Het personeel niet"  # typographic apostrophe, capital kept
    assert translate_words("", words) == ""
    share, missing = coverage(["The invoice was wrong again, again!", "staff 3x"], words)
    assert share == 5 / 8 and missing == ["again", "x"]


def test_shipped_dictionaries_cover_the_product_languages():
    assert {"en-nl", "en-nb", "en-nn"} <= set(shipped_dictionaries())
    for name in ("en-nl", "en-nb", "en-nn"):
        words = load_dictionary(dictionary_path(name))
        assert len(words) > 2500
        assert translate_words("the invoice was wrong", words) != "the invoice was wrong"
    assert load_dictionary(dictionary_path("en-nn"))["not"] == "ikkje"


def test_dictionary_errors_name_the_line(tmp_path):
    bad = tmp_path / "en-nl.tsv"
    bad.write_text("# my words\nstaff\tpersoneel\ninvoice factuur\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="en-nl.tsv line 3: expected 'source<TAB>target'"):
        load_dictionary(bad)
    bad.write_text("staff\tpersoneel\nStaff\tmedewerkers\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2: 'staff' is already translated on line 1"):
        load_dictionary(bad)
    with pytest.raises(ConfigError, match="no dictionary 'en-xx'.*en-nl"):
        dictionary_path("en-xx")
    wrong_name = tmp_path / "dutch.tsv"
    wrong_name.write_text("staff\tpersoneel\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be named SRC-TGT.tsv"):
        dictionary_path(wrong_name)


def test_translate_examples_keeps_labels_and_groups(tmp_path):
    words = tmp_path / "en-nb.tsv"
    words.write_text("invoice\tfaktura\nwrong\tfeil\n", encoding="utf-8")
    examples = [Example("wrong invoice", "1", lang="en", themes={"billing_payment": "negative"}, group="r1"),
                Example("foute factuur", "2", lang="nl", themes={"billing_payment": "negative"}),
                Example("great staff", "3", lang="en", themes={"staff_attitude": "positive"})]  # no word known
    out = translate_examples(examples, load_dictionaries([words]))
    assert [(e.text, e.lang, e.id, e.group, e.themes) for e in out] == [
        ("feil faktura", "nb", "1~nb", "r1", {"billing_payment": "negative"})]
    assert out[0].meta["translated_from"] == "1"
    # a second dictionary of the same direction adds its words to the first (the later one wins), no second copy
    mine = tmp_path / "mine" / "en-nb.tsv"
    mine.parent.mkdir()
    mine.write_text("great\tflott\nwrong\tgal\n", encoding="utf-8")
    both = translate_examples(examples, load_dictionaries([words, mine]))
    assert [e.text for e in both] == ["gal faktura", "flott staff"]


def test_fit_keeps_groups_on_one_side_of_every_split():
    from nps_nlp._classifier.splits import fold_indices

    clf = FeedbackClassifier(cv=5)
    groups = [f"g{i // 3}" for i in range(60)]
    for k, validation_fraction in ((5, 0.15), (1, 0.15), (1, 0.3)):
        folds = fold_indices(60, k, validation_fraction, np.random.default_rng(0), groups)
        held = np.concatenate(folds)
        assert len(set(held)) == len(held)
        for fold in folds:
            inside = {groups[i] for i in fold}
            assert sum(g in inside for g in groups) == len(fold)  # no group split
        if k == 1:
            assert abs(len(held) - 60 * validation_fraction) <= 3
        else:
            assert len(held) == 60
    # one group per answer: the same split as without groups
    plain = fold_indices(60, 1, 0.3, np.random.default_rng(0))
    same = fold_indices(60, 1, 0.3, np.random.default_rng(0), [str(i) for i in range(60)])
    assert all((a == b).all() for a, b in zip(plain, same, strict=True))
    with pytest.raises(DataValidationError, match="groups has 2 entries for 3 answers"):
        clf.fit(["a", "b", "c"], [["staff_attitude"]] * 3, groups=["x", "y"])


def test_train_with_translation(tmp_path, tiny_encoder_dir):
    rows = [r for r in make_rows(4) if r["lang"] == "en"] + [r for r in make_rows(2) if r["lang"] != "en"]
    data = write_jsonl(tmp_path / "train.jsonl", rows)
    res = runner.invoke(app, ["train", "--data", str(data), "--output", str(tmp_path / "run"),
                              "--encoder", str(tiny_encoder_dir), "--epochs", "2",
                              "--translate", "en-nl", "--translate", "en-nb", "-q"])
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    n_en = sum(r["lang"] == "en" for r in rows)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_translated"] == 2 * n_en and metrics["n_train"] == len(rows) + 2 * n_en
    assert tomllib.loads((run / "config.toml").read_text())["data"]["translate"] == ["en-nl", "en-nb"]
    log = (run / "training.log").read_text()
    assert f"translated word by word (en-nl, en-nb): {2 * n_en} answers (nb {n_en}, nl {n_en})" in log
    assert "en-nb: the dictionary knows" in log and "commonest unknown" in log
    assert json.loads((run / "model-best" / "config.json").read_text())["n_examples"] == len(rows) + 2 * n_en


def test_translate_setting_is_checked_before_any_compute(tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", make_rows(2))
    with pytest.raises(ConfigError, match="no dictionary 'en-de'"):
        TrainingArguments(data=str(data), output=str(tmp_path / "run"), translate=["en-de"])
    res = runner.invoke(app, ["train", "--data", str(data), "--output", str(tmp_path / "run"),
                              "--set", 'data.translate=["nl-nl.tsv"]'])  # the config key works as well
    assert res.exit_code == 2 and "data.translate" in res.output

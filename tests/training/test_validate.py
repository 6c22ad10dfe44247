"""Validation before compute: every kind of problem, with its row number and its fix."""

import json

import pandas as pd
import pytest
from training_rows import make_rows, write_jsonl
from typer.testing import CliRunner

from nps_nlp.cli import app
from training.validate import FIXES, TrainingDataError, validate_data

runner = CliRunner()


def problems_of(path, **kw):
    with pytest.raises(TrainingDataError) as info:
        validate_data(path, **kw)
    return info.value.report.problems


def only(problems, kind):
    found = [p for p in problems if p.kind == kind]
    assert found, f"no {kind} problem in {[str(p) for p in problems]}"
    return found


def with_row(rows, index, **changes):
    rows = [dict(r) for r in rows]
    rows[index].update(changes)
    return rows


def test_clean_data_passes(tmp_path):
    report = validate_data(write_jsonl(tmp_path / "ok.jsonl", make_rows()))
    assert report.n_rows == len(report.examples) == 36 and not report.problems and not report.dropped


def test_empty_text_jsonl_line_number(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", with_row(make_rows(), 2, text="   "))
    (p,) = only(problems_of(path), "empty_text")
    assert p.where == "line 3" and p.rows == [3] and p.fix == FIXES["empty_text"]


def test_blank_lines_count_in_jsonl_line_numbers(tmp_path):
    rows = with_row(make_rows(), 1, text="")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n\n" + "\n".join(json.dumps(r) for r in rows[1:]), encoding="utf-8")
    (p,) = only(problems_of(path), "empty_text")
    assert p.where == "line 3"  # the file's line, not the row count


def test_bad_scores_csv_row_numbers(tmp_path):
    df = pd.DataFrame(make_rows())
    df["themes"] = df["themes"].map(lambda t: ";".join(f"{k}:{v}" for k, v in t.items()))
    df["score"] = df["score"].astype(str)
    df.loc[0, "score"] = "eleven"
    df.loc[4, "score"] = "11"
    df.loc[5, "score"] = "7.5"
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    found = only(problems_of(path), "bad_score")
    assert [p.where for p in found] == ["row 1", "row 5", "row 6"]  # data rows, header not counted
    assert "'eleven' is not a number" in found[0].message and "outside 0-10" in found[1].message
    assert all(p.fix == FIXES["bad_score"] for p in found) and "whole number from 0 to 10" in found[0].fix


def test_duplicate_ids_name_the_first_occurrence(tmp_path):
    rows = make_rows()
    path = write_jsonl(tmp_path / "d.jsonl", with_row(rows, 7, id=rows[1]["id"]))
    (p,) = only(problems_of(path), "duplicate_id")
    assert p.where == "line 8" and "already used at line 2" in p.message and "its own id" in p.fix


def test_unknown_theme_suggests_the_closest_id(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", with_row(make_rows(), 3, themes={"biling_payment": "negative"}))
    (p,) = only(problems_of(path), "unknown_theme")
    assert p.where == "line 4" and "'biling_payment' is not in taxonomy 'generic-cx'" in p.message
    assert p.fix.startswith("did you mean 'billing_payment'?") and "model.taxonomy" in p.fix


def test_too_few_examples_per_label(tmp_path):
    rows = make_rows()
    rows[0]["themes"] = {"price_value": "negative"}
    rows[9]["themes"] = {"price_value": "negative"}
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    (p,) = only(problems_of(path, min_examples_per_label=3), "rare_label")
    assert p.where == "line 1, line 10" and p.rows == [1, 10]
    assert "theme 'price_value' has 2 example(s), at least 3 are needed" in p.message
    assert "min_examples_per_label" in p.fix
    assert validate_data(path, min_examples_per_label=2).examples  # the threshold is configurable


def test_unknown_polarity_of_a_theme_and_of_the_sentiment(tmp_path):
    rows = with_row(make_rows(), 0, themes={"staff_attitude": "angry"})
    rows = with_row(rows, 5, sentiment="meh")
    found = only(problems_of(write_jsonl(tmp_path / "d.jsonl", rows)), "bad_polarity")
    assert [p.where for p in found] == ["line 1", "line 6"]
    assert "'angry'" in found[0].message and "'meh'" in found[1].message
    assert found[0].fix == FIXES["bad_polarity"] and "negative, neutral or positive" in found[0].fix


def test_unsupported_language(tmp_path):
    (p,) = only(problems_of(write_jsonl(tmp_path / "d.jsonl", with_row(make_rows(), 4, lang="de"))), "bad_language")
    assert p.where == "line 5" and "'de'" in p.message and "en, nl, nb or nn" in p.fix


def test_malformed_themes(tmp_path):
    (p,) = only(problems_of(write_jsonl(tmp_path / "d.jsonl", with_row(make_rows(), 6, themes=[{"x": 1}]))),
                "bad_themes")
    assert p.where == "line 7" and "label_delimiter" in p.fix


def test_missing_columns_list_the_columns_found(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("comment,labels\nGreat,staff_attitude\n", encoding="utf-8")
    (p,) = only(problems_of(path), "missing_column")
    assert p.where == "file" and "expected a column 'text' for 'text', found columns: 'comment', 'labels'" in p.message
    assert "data.columns" in p.fix
    (p,) = only(problems_of(path, columns={"text": "comment", "score": "nps"}), "missing_column")
    assert "'nps' for 'score'" in p.message
    (p,) = only(problems_of(path, columns={"text": "comment"}), "no_labels")
    assert "found columns: 'comment', 'labels'" in p.message


def test_all_problems_are_collected_at_once(tmp_path):
    rows = with_row(make_rows(), 0, text="")
    rows = with_row(rows, 1, score=42)
    rows = with_row(rows, 2, themes={"stafattitude": None})
    problems = problems_of(write_jsonl(tmp_path / "d.jsonl", rows))
    assert {p.kind for p in problems} == {"empty_text", "bad_score", "unknown_theme"}
    assert [p.where for p in problems] == ["line 1", "line 2", "line 3"]


def test_drop_invalid_reports_what_it_dropped(tmp_path):
    rows = with_row(make_rows(), 0, text="")
    rows = with_row(rows, 1, score=42)
    rows[2]["themes"] = {"price_value": "negative", "billing_payment": "negative"}
    report = validate_data(write_jsonl(tmp_path / "d.jsonl", rows), drop_invalid=True)
    assert len(report.examples) == 34 and not report.problems
    assert [(p.kind, p.where) for p in report.dropped] == [("empty_text", "line 1"), ("bad_score", "line 2"),
                                                           ("rare_label", "line 3")]
    kept = {e.id: e for e in report.examples}
    assert kept[rows[2]["id"]].themes == {"billing_payment": "negative"}  # the rare theme removed, the row kept


def test_label_delimiter_and_column_mapping(tmp_path):
    df = pd.DataFrame(make_rows()).rename(columns={"text": "comment", "themes": "labels"})
    df["labels"] = df["labels"].map(lambda t: " / ".join(f"{k}:{v}" for k, v in t.items()))
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    report = validate_data(path, columns={"text": "comment", "themes": "labels"}, label_delimiter="/")
    assert report.examples[8].themes == {"staff_attitude": "positive", "delivery_waiting": "positive"}
    # Parquet with a list column of theme ids
    df["labels"] = df["labels"].map(lambda s: [part.split(":")[0].strip() for part in s.split("/")])
    df.to_parquet(tmp_path / "d.parquet")
    report = validate_data(tmp_path / "d.parquet", columns={"text": "comment", "themes": "labels"})
    assert report.examples[8].themes == {"staff_attitude": None, "delivery_waiting": None}


def test_foreign_label_sets_become_the_taxonomy(tmp_path):
    rows = [{**r, "themes": {"FOOD#QUALITY": "positive"}} for r in make_rows()]
    report = validate_data(write_jsonl(tmp_path / "d.jsonl", rows))
    assert report.examples and "made of the 1 training labels" in report.notices[0]


def test_cli_prints_a_problem_table_and_exits_2(tmp_path):
    rows = with_row(make_rows(), 2, text="")
    rows = with_row(rows, 4, themes={"biling_payment": "negative"})
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    res = runner.invoke(app, ["train", "--data", str(data), "--output", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "2 problem(s)" in res.output and "nothing was trained" in res.output
    assert "line 3" in res.output and "line 5" in res.output and "empty_text" in res.output
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.tmp").exists()

"""The library's one streaming reader (nps_nlp.tabular): rows numbered as the file shows them, problems by kind,
and the same rows for batch tagging, the dataset loader and training-data validation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nps_nlp.datasets import load_examples, read_rows
from nps_nlp.errors import DataFormatError
from nps_nlp.tabular import open_reader


def test_jsonl_rows_carry_their_line_numbers_and_a_bom_is_no_json(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes("\ufeff".encode() + b'{"text": "one"}\n\n{"text": "two"}\n[1]\n{broken\n')
    rows = list(open_reader(path).rows(chunk_size=2))
    assert [(r.number, r.where) for r in rows] == [(1, "line 1"), (3, "line 3"), (4, "line 4"), (5, "line 5")]
    assert [r.values for r in rows[:2]] == [{"text": "one"}, {"text": "two"}]
    assert [r.kind for r in rows] == [None, None, "not_an_object", "invalid_json"]
    assert rows[2].problem == "expected a JSON object per line, found list"


def test_csv_rows_are_data_rows_with_problems_by_kind(tmp_path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,text\n1,fine\n\n2,caf\xe9\n3,a,b\n")
    rows = list(open_reader(path).rows())
    assert [(r.number, r.where, r.kind) for r in rows] == [(1, "row 1", None), (2, "row 2", "undecodable"),
                                                          (3, "row 3", "field_count")]


def test_the_dataset_loader_reads_through_the_streaming_reader(tmp_path) -> None:
    path = tmp_path / "a.tsv"
    path.write_text("id\ttext\tscore\tnote\n007\tgreat staff\t9\t\n008\tslow app\t\tx\n", encoding="utf-8")
    columns, rows = read_rows(path, "csv", sep="\t")
    assert columns == ["id", "text", "score", "note"]
    assert [r.values for r in rows] == [{"id": "007", "text": "great staff", "score": "9", "note": None},
                                        {"id": "008", "text": "slow app", "score": None, "note": "x"}]
    examples = load_examples(path)
    assert [(e.id, e.text, e.score, e.meta) for e in examples] == [("007", "great staff", 9, {"note": None}),
                                                                  ("008", "slow app", None, {"note": "x"})]


def test_parquet_values_come_out_as_plain_python(tmp_path) -> None:
    path = tmp_path / "a.parquet"
    frame = pd.DataFrame({"text": ["a", "b"], "score": [9, None], "when": pd.to_datetime(["2024-01-02", "2024-01-03"])})
    frame.to_parquet(path)
    examples = load_examples(path)
    assert [e.score for e in examples] == [9, None]
    assert examples[0].meta["when"] == "2024-01-02T00:00:00"
    json.dumps([e.meta for e in examples])  # JSON-ready: no NumPy or pandas values left


def test_a_broken_row_is_reported_with_its_file_and_row(tmp_path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("id,text,score\n1,ok,9\n2,no score\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"short.csv: could not parse as CSV, row 2: row has 2 fields but the header has 3"):
        load_examples(path)

"""Streaming readers and part writers."""

from __future__ import annotations

import pytest
from batch_helpers import write_jsonl, write_parquet

from nps_nlp.batch import detect_format, open_reader
from nps_nlp.errors import ConfigError, DataFormatError


def test_detect_format() -> None:
    assert detect_format("a.CSV") == "csv"
    assert detect_format("a.ndjson") == "jsonl"
    assert detect_format("a.pq") == "parquet"
    assert detect_format("a.txt", "tsv") == "tsv"
    with pytest.raises(ConfigError, match="extension"):
        detect_format("a.txt")
    with pytest.raises(ConfigError, match="unknown format"):
        detect_format("a.csv", "xlsx")


def test_csv_fields_stay_strings_and_positions_resume(tmp_path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes('\ufeffid,text,score\n007,"multi\nline, quoted",9\n\n008,plain,\n009,"x ""q""",3.50\n'.encode())
    reader = open_reader(path)
    assert reader.columns == ["id", "text", "score"]
    chunks = list(reader.chunks(2))
    assert [c.rows for c in chunks] == [[{"id": "007", "text": "multi\nline, quoted", "score": "9"},
                                          {"id": "008", "text": "plain", "score": ""}],
                                         [{"id": "009", "text": 'x "q"', "score": "3.50"}]]
    assert [c.start_row for c in chunks] == [0, 2]
    assert chunks[-1].end == path.stat().st_size
    again = list(reader.chunks(2, start=chunks[0].end, start_row=2))
    assert again[0].rows == chunks[1].rows and again[0].start_row == 2


def test_csv_undecodable_and_ragged_rows_are_flagged(tmp_path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n1,caf\xe9 ok\n2,a,b\n3,fine\n")
    chunk = next(open_reader(path).chunks(10))
    assert chunk.problems[0] == "undecodable bytes (not utf-8) in text"
    assert chunk.rows[0]["text"] == "caf\ufffd ok"
    assert chunk.problems[1] == "row has 3 fields but the header has 2"
    assert chunk.problems[2] is None
    latin = next(open_reader(path, encoding="latin-1").chunks(10))
    assert latin.rows[0]["text"] == "café ok" and latin.problems[0] is None


def test_reader_errors_are_actionable(tmp_path) -> None:
    with pytest.raises(DataFormatError, match="does not exist"):
        open_reader(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="header row"):
        open_reader(tmp_path / "empty.csv")
    (tmp_path / "tagged.csv").write_text("text,nps_status\na,ok\n")
    with pytest.raises(DataFormatError, match="looks tagged already"):
        open_reader(tmp_path / "tagged.csv")
    (tmp_path / "dup.csv").write_text("text,text\na,b\n")
    with pytest.raises(DataFormatError, match="duplicate column"):
        open_reader(tmp_path / "dup.csv")


def test_jsonl_columns_types_and_bad_lines(tmp_path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "a", "meta": {"k": 1}}\nnot json\n[1]\n\n{"id": 2, "text": "b", "score": 7.5}\n')
    reader = open_reader(path)
    assert reader.columns == ["id", "text", "meta", "score"]
    assert str(reader.arrow_fields["id"]) == "int64" and str(reader.arrow_fields["score"]) == "double"
    assert reader.json_columns == {"meta"}
    chunk = next(reader.chunks(10))
    assert len(chunk.rows) == 4
    assert chunk.problems[1].startswith("invalid JSON") and chunk.problems[2] == "expected a JSON object per line, found list"
    assert chunk.rows[3] == {"id": 2, "text": "b", "score": 7.5}


def test_parquet_chunks_across_row_groups_and_resume(tmp_path, rows) -> None:
    path = write_parquet(tmp_path / "in.parquet", rows)  # row groups of 7
    reader = open_reader(path)
    assert reader.unit == "rows" and reader.total == 30
    chunks = list(reader.chunks(4))
    assert [len(c.rows) for c in chunks] == [4] * 7 + [2]
    assert [r["id"] for c in chunks for r in c.rows] == [r["id"] for r in rows]
    resumed = list(reader.chunks(4, start=chunks[2].end, start_row=12))
    assert [r["id"] for c in resumed for r in c.rows] == [r["id"] for r in rows[12:]]
    assert resumed[0].start_row == 12


def test_jsonl_resume_from_byte_offset(tmp_path, rows) -> None:
    reader = open_reader(write_jsonl(tmp_path / "in.jsonl", rows))
    chunks = list(reader.chunks(8))
    resumed = list(reader.chunks(8, start=chunks[1].end, start_row=16))
    assert [c.rows for c in resumed] == [c.rows for c in chunks[2:]]

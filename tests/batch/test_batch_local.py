"""The local engine: output schema, rejects, resumability, option checks."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from batch_helpers import FakePipeline, write_csv, write_jsonl, write_parquet

from nps_nlp import allocator
from nps_nlp.batch import TAG_COLUMNS, ColumnMap, tag_file
from nps_nlp.errors import ConfigError, DataFormatError

WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


class Crash(Exception):
    pass


def _crash_after(k: int):
    def hook(done: int) -> None:
        if done == k:
            raise Crash(f"killed after {k} chunks")
    return hook


def _cell(value) -> str:
    """One spelling per value, whichever format it was read from."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(float(value)) if isinstance(value, int | float) else str(value)


def _dicts(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _read(path):
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False, precise_float=True)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_csv_output_keeps_input_and_adds_tags(tmp_path, rows, fake_pipeline) -> None:
    src = write_csv(tmp_path / "in.csv", rows)
    report = tag_file(src, tmp_path / "out.csv", pipeline=fake_pipeline, chunk_size=8, progress=False)
    assert (report.rows, report.rejected, report.resumed_rows) == (30, 4, 0)
    out = _dicts(tmp_path / "out.csv")
    assert list(out[0]) == list(rows[0]) + list(TAG_COLUMNS)
    assert [{k: r[k] for k in rows[0]} for r in out] == rows  # input columns unchanged, same order, nothing dropped
    assert fake_pipeline.calls == [7, 6, 7, 6]  # one analyze call per chunk of 8, rejected rows not sent
    first = out[0]
    assert first["nps_status"] == "ok" and first["nps_theme_ids"] == "billing_payment" and first["nps_band"] == "detractor"
    assert json.loads(first["nps_themes"])[0]["evidence"] == {"text": "invoice", "start": 4, "end": 11}
    assert out[4]["nps_status"] == "rejected" and out[4]["nps_lang"] == "" and out[4]["nps_score"] == "4.0"
    assert not list(tmp_path.glob("*.parts"))
    rejects = _dicts(report.rejects_path)
    assert rejects == [
        {"row": "5", "id": "r004", "reason": "text column 'text' is empty"},
        {"row": "10", "id": "r009", "reason": "text column 'text' is only whitespace"},
        {"row": "14", "id": "r013", "reason": "score 'eleven' is not a number 0-10"},
        {"row": "18", "id": "r017", "reason": "score '12' is outside 0-10"},
    ]


@pytest.mark.parametrize("in_fmt", ["csv", "jsonl", "parquet"])
def test_every_format_gives_the_same_tags(tmp_path, rows, in_fmt) -> None:
    src = WRITERS[in_fmt](tmp_path / f"in.{in_fmt}", rows)
    tags = []
    for out_fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"out.{out_fmt}"
        tag_file(src, out, pipeline=FakePipeline(), chunk_size=11, progress=False)
        frame = _read(out)
        assert list(frame["id"]) == [r["id"] for r in rows]
        tags.append(frame[list(TAG_COLUMNS)].map(_cell))
    pd.testing.assert_frame_equal(tags[0], tags[1])
    pd.testing.assert_frame_equal(tags[0], tags[2])


@pytest.mark.parametrize(("in_fmt", "out_fmt"), [("csv", "csv"), ("jsonl", "jsonl"), ("parquet", "parquet"), ("csv", "parquet")])
def test_killed_run_resumes_to_identical_output(tmp_path, rows, in_fmt, out_fmt) -> None:
    src = WRITERS[in_fmt](tmp_path / f"in.{in_fmt}", rows)
    whole = tag_file(src, tmp_path / f"whole.{out_fmt}", pipeline=FakePipeline(), chunk_size=4, progress=False)
    target = tmp_path / f"out.{out_fmt}"
    with pytest.raises(Crash):
        tag_file(src, target, pipeline=FakePipeline(), chunk_size=4, progress=False, after_chunk=_crash_after(3))
    assert not target.exists() and (tmp_path / f"out.{out_fmt}.parts" / "manifest.json").exists()
    second = FakePipeline()
    report = tag_file(src, target, pipeline=second, chunk_size=4, progress=False)
    assert report.resumed_rows == 12 and report.rows == 30
    assert sum(second.calls) == 30 - 12 - 2  # only the rest (rows 12.. minus 2 rejected ones) was tagged again
    if out_fmt == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(target), pd.read_parquet(whole.output))
    else:
        assert target.read_bytes() == whole.output.read_bytes()
    assert report.rejects_path.read_bytes() == whole.rejects_path.read_bytes()


def test_crash_inside_the_pipeline_loses_nothing(tmp_path, rows) -> None:
    src = write_csv(tmp_path / "in.csv", rows)
    whole = tag_file(src, tmp_path / "whole.csv", pipeline=FakePipeline(), chunk_size=5, progress=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        tag_file(src, tmp_path / "out.csv", pipeline=FakePipeline(fail_after_calls=2), chunk_size=5, progress=False)
    report = tag_file(src, tmp_path / "out.csv", pipeline=FakePipeline(), chunk_size=5, progress=False)
    assert report.resumed_rows == 10
    assert (tmp_path / "out.csv").read_bytes() == whole.output.read_bytes()


def test_resume_refuses_other_options_or_input_and_restart_starts_over(tmp_path, rows) -> None:
    src = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    with pytest.raises(Crash):
        tag_file(src, out, pipeline=FakePipeline(), chunk_size=4, progress=False, after_chunk=_crash_after(1))
    with pytest.raises(ConfigError, match="different chunk_size.*--restart"):
        tag_file(src, out, pipeline=FakePipeline(), chunk_size=5, progress=False)
    write_csv(src, rows[:-1])
    with pytest.raises(ConfigError, match="different input_fingerprint"):
        tag_file(src, out, pipeline=FakePipeline(), chunk_size=4, progress=False)
    report = tag_file(src, out, pipeline=FakePipeline(), chunk_size=5, progress=False, restart=True)
    assert report.resumed_rows == 0 and report.rows == 29


def test_existing_output_needs_overwrite(tmp_path, rows) -> None:
    src = write_csv(tmp_path / "in.csv", rows)
    tag_file(src, tmp_path / "out.csv", pipeline=FakePipeline(), progress=False)
    with pytest.raises(ConfigError, match="--overwrite"):
        tag_file(src, tmp_path / "out.csv", pipeline=FakePipeline(), progress=False)
    assert tag_file(src, tmp_path / "out.csv", pipeline=FakePipeline(), progress=False, overwrite=True).rows == 30
    with pytest.raises(ConfigError, match="is the input file"):
        tag_file(src, src, pipeline=FakePipeline(), progress=False, overwrite=True)


def test_column_mapping_and_missing_columns(tmp_path) -> None:
    src = write_csv(tmp_path / "in.csv", [{"ref": "a1", "comment": "invoice wrong", "nps": "3", "taal": "nl"},
                                          {"ref": "a2", "comment": "great staff", "nps": "10", "taal": ""}])
    with pytest.raises(DataFormatError, match="no 'text' column; its columns are: ref, comment, nps, taal"):
        tag_file(src, tmp_path / "o.csv", pipeline=FakePipeline(), progress=False)
    with pytest.raises(DataFormatError, match="no score column 'score2'"):
        tag_file(src, tmp_path / "o.csv", pipeline=FakePipeline(), progress=False,
                 columns=ColumnMap(text="comment", score="score2"))
    seen = {}

    class Spy(FakePipeline):
        def analyze(self, texts, scores=None, langs=None):
            seen.update(texts=list(texts), scores=list(scores), langs=list(langs))
            return super().analyze(texts, scores, langs)

    report = tag_file(src, tmp_path / "o.jsonl", pipeline=Spy(), progress=False, lang="en",
                      columns=ColumnMap(text="comment", score="nps", id="ref", lang="taal"))
    assert seen == {"texts": ["invoice wrong", "great staff"], "scores": [3, 10], "langs": ["nl", "en"]}
    assert report.columns.id == "ref" and report.columns.timestamp is None
    out = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert out[0]["ref"] == "a1" and out[0]["nps_score"] == 3.0 and out[1]["nps_band"] == "promoter"


def test_limit_tags_a_prefix_and_undecodable_rows_are_reported(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(b"id,text,score\n" + b"".join(b"%d,invoice wrong %d,5\n" % (i, i) for i in range(10))
                    + b"10,caf\xe9 staff,9\n")
    report = tag_file(src, tmp_path / "head.csv", pipeline=FakePipeline(), chunk_size=3, limit=7, progress=False)
    assert report.rows == 7 and len(_read(tmp_path / "head.csv")) == 7
    report = tag_file(src, tmp_path / "all.csv", pipeline=FakePipeline(), chunk_size=3, progress=False)
    out = _read(tmp_path / "all.csv")
    assert report.rejected == 1 and out["nps_status"].iloc[-1] == "rejected" and out["text"].iloc[-1] == "caf\ufffd staff"
    assert "undecodable bytes (not utf-8) in text" in report.rejects_path.read_text()


def test_real_model_resume_is_byte_identical(tmp_path, default_model, seed_test) -> None:
    from nps_nlp.pipeline import FeedbackPipeline

    pipe = FeedbackPipeline(default_model)
    rows = [{"id": e.id, "text": e.text, "score": "" if e.score is None else str(e.score)} for e in seed_test[:16]]
    src = write_csv(tmp_path / "in.csv", rows)
    whole = tag_file(src, tmp_path / "whole.csv", pipeline=pipe, chunk_size=8, progress=False)
    with pytest.raises(Crash):
        tag_file(src, tmp_path / "out.csv", pipeline=pipe, chunk_size=8, progress=False, after_chunk=_crash_after(1))
    tag_file(src, tmp_path / "out.csv", pipeline=pipe, chunk_size=8, progress=False)
    assert (tmp_path / "out.csv").read_bytes() == whole.output.read_bytes()
    out = _read(whole.output)
    assert (out["nps_status"] == "ok").all() and out["nps_lang"].isin(["en", "nl", "nb", "nn"]).all()


def test_pages_go_back_to_the_system_after_every_chunk(tmp_path, monkeypatch) -> None:
    """A long job keeps its memory level: the allocator's free pages are handed back once per chunk."""
    calls = []
    monkeypatch.setattr(allocator, "release", lambda: calls.append(1) or True)
    source = write_csv(tmp_path / "in.csv", [{"id": str(i), "text": f"the invoice was wrong {i}"} for i in range(25)])
    report = tag_file(source, tmp_path / "out.csv", pipeline=FakePipeline(), chunk_size=10, progress=False)
    assert report.rows == 25 and len(calls) == 3

"""The end-of-job summary computed from the tagged output."""

from __future__ import annotations

import json

import pandas as pd
from batch_helpers import FakePipeline, write_csv

from nps_nlp.action_points import action_points
from nps_nlp.batch import ColumnMap, SummaryBuilder, summarize_output, tag_file
from nps_nlp.nps import nps


def _tagged(tmp_path, rows, name="out.jsonl"):
    report = tag_file(write_csv(tmp_path / "in.csv", rows), tmp_path / name, pipeline=FakePipeline(), chunk_size=7,
                      progress=False)
    return report


def test_summary_counts_and_nps_match_the_rows(tmp_path, rows) -> None:
    report = _tagged(tmp_path, rows)
    summary = summarize_output(report.output, report.columns)
    valid_scores = [int(r["score"]) for r in rows if r["score"].isdigit() and int(r["score"]) <= 10]
    assert (summary.rows, summary.tagged, summary.rejected) == (30, 26, 4)
    assert summary.nps == nps(valid_scores)  # empty answers with a score still count for NPS
    assert sum(summary.languages.values()) == 26 and set(summary.languages) == {"en", "nl"}
    assert summary.urgent == sum("cancel" in r["text"].lower() for r in rows if r["text"].strip()
                                 and r["score"] not in ("eleven", "12"))
    assert summary.themes["billing_payment"]["negative"] > 0


def test_action_points_equal_the_library_on_the_same_answers(tmp_path, rows) -> None:
    report = _tagged(tmp_path, rows)
    summary = summarize_output(report.output, report.columns)
    frame = pd.read_json(report.output, lines=True, dtype=False, precise_float=True)
    frame = frame[frame["nps_status"] == "ok"]
    expected = action_points(pd.DataFrame({"score": frame["nps_score"], "themes": frame["nps_themes"].map(json.loads),
                                           "text": frame["text"], "lang": frame["nps_lang"], "id": frame["id"],
                                           "timestamp": frame["timestamp"]}).reset_index(drop=True))
    assert not summary.action_points_sampled and summary.action_points_rows == 26
    assert [(p.theme, p.count, p.impact, p.impact_ci, p.trend) for p in summary.action_points] == \
           [(p.theme, p.count, p.impact, p.impact_ci, p.trend) for p in expected]


def test_large_inputs_use_a_bounded_reproducible_sample(tmp_path, rows) -> None:
    report = _tagged(tmp_path, rows)
    results = []
    for _ in range(2):
        builder = SummaryBuilder(sample_size=10)
        for row in pd.read_json(report.output, lines=True, dtype=False).to_dict("records"):
            builder.add(row, report.columns)
        results.append(builder.build())
    assert results[0].action_points_sampled and results[0].action_points_rows == 10
    assert [p.to_dict() for p in results[0].action_points] == [p.to_dict() for p in results[1].action_points]
    assert results[0].rows == 30  # counts stay exact


def test_summary_files(tmp_path, rows) -> None:
    report = _tagged(tmp_path, rows, "out.parquet")
    summary = summarize_output(report.output, report.columns)
    summary.write(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["rows"] == 30 and data["nps"]["n"] == summary.nps.n and data["action_points"]
    summary.write(tmp_path / "s.html")
    page = (tmp_path / "s.html").read_text()
    assert page.startswith("<!doctype html>") and "Top action points" in page and "billing_payment" in page
    assert summarize_output(report.output, ColumnMap(text="text")).nps == summary.nps

"""``nps-nlp tag`` end to end with the shipped model, and the Ray engine against the local one."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from batch_helpers import write_csv
from typer.testing import CliRunner

from nps_nlp.cli import app

ROOT_MODEL = "models/default"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache(e5_dir, monkeypatch):
    monkeypatch.setenv("NPS_CACHE_DIR", str(e5_dir.parents[1]))


@pytest.fixture
def seed_csv(tmp_path, seed_test):
    rows = [{"ref": e.id, "comment": e.text, "nps": str(e.score), "date": f"2024-0{1 + i % 3}-15", "team": "a"}
            for i, e in enumerate(seed_test[:20])]
    rows[3]["comment"] = " "
    return write_csv(tmp_path / "export.csv", rows)


def test_tag_command_writes_output_rejects_and_summary(tmp_path, seed_csv) -> None:
    out, summary = tmp_path / "tagged.jsonl", tmp_path / "summary.json"
    args = ["tag", str(seed_csv), "-o", str(out), "--text-column", "comment", "--score-column", "nps",
            "--id-column", "ref", "--timestamp-column", "date", "--model", ROOT_MODEL, "--chunk-size", "8",
            "--summary", str(summary), "--no-progress"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 20 and rows[3]["nps_status"] == "rejected"
    assert all(r["nps_lang"] in ("en", "nl", "nb", "nn") for r in rows if r["nps_status"] == "ok")
    assert (tmp_path / "tagged.jsonl.rejects.csv").read_text().splitlines()[1].startswith("4,")
    data = json.loads(summary.read_text())
    assert data["rows"] == 20 and data["rejected"] == 1 and data["nps"]["n"] == 20
    assert "NPS" in res.stdout and "top action points" in res.stdout
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "--overwrite" in res.output


def test_tag_command_bad_input_is_explained(tmp_path, seed_csv) -> None:
    res = runner.invoke(app, ["tag", str(seed_csv), "-o", str(tmp_path / "o.csv"), "--model", ROOT_MODEL])
    assert res.exit_code == 2 and "no 'text' column" in res.output and "--text-column" in res.output
    res = runner.invoke(app, ["tag", str(seed_csv), "-o", str(tmp_path / "o.xlsx"), "--text-column", "comment"])
    assert res.exit_code == 2 and "cannot tell the format" in res.output
    res = runner.invoke(app, ["tag", str(seed_csv), "-o", str(tmp_path / "o.csv"), "--text-column", "comment",
                              "--workers", "2"])
    assert res.exit_code == 2 and "--engine ray" in res.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")  # Ray's own internals, not ours
def test_ray_engine_output_equals_local_engine(tmp_path, seed_csv, default_model, fp32_inference) -> None:
    # fp32 in both engines (the Ray actors get NPS_ENCODER_PRECISION too): in bfloat16 the two engines' different
    # batches (padding) move sentiment scores by up to ~2e-3 on a CPU with native bfloat16
    pytest.importorskip("ray")
    from nps_nlp.batch import ColumnMap, tag_file
    from nps_nlp.batch._ray import tag_file_ray
    from nps_nlp.pipeline import FeedbackPipeline

    columns = ColumnMap(text="comment", score="nps", id="ref", timestamp="date")
    local = tag_file(seed_csv, tmp_path / "local.parquet", pipeline=FeedbackPipeline(default_model), columns=columns,
                     chunk_size=8, progress=False)
    ray_report = tag_file_ray(seed_csv, tmp_path / "ray.parquet", model=ROOT_MODEL, columns=columns, workers=1,
                              chunk_size=8)
    assert ray_report.output.is_dir() and (ray_report.rows, ray_report.rejected) == (20, 1)
    a = pd.read_parquet(local.output).sort_values("ref").reset_index(drop=True)
    b = pd.read_parquet(ray_report.output).sort_values("ref").reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-3)
    def theme_ids(frame):
        return [[t["theme"] for t in json.loads(s)] if isinstance(s, str) else None for s in frame["nps_themes"]]

    assert theme_ids(a) == theme_ids(b) and sum(map(bool, theme_ids(a) or [])) > 10

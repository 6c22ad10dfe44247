"""The analyst notebook runs end to end on small data (tiny encoder) and computes the right figures."""

import json
import random
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the notebook extra: pip install -e .[notebook]")
nbclient = pytest.importorskip("nbclient", reason="needs the notebook extra: pip install -e .[notebook]")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "analyst_walkthrough.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1


def test_notebook_executes_on_small_data(tiny_encoder_dir, tmp_path):
    from nps_nlp.datasets import load_examples
    from nps_nlp.nps import nps
    from nps_nlp.taxonomy import load_taxonomy

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = {"ENCODER": str(tiny_encoder_dir), "N_TRAIN": 120, "N_TEST": 60, "EPOCHS": 2, "SEED": 3,
              "OUTPUT_DIR": str(tmp_path / "out")}
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    # the kernel is ipykernel's own "python3" spec, run with this interpreter (no global kernelspec needed)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()

    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    test_all = load_examples(ROOT / "data" / "seed" / "test.jsonl")
    test = random.Random(3).sample(test_all, 60)
    assert summary["n_train"] == 120 and summary["n_test"] == 60
    assert summary["nps"] == pytest.approx(nps([e.score for e in test]).nps)  # computed on the sampled answers
    assert 0.0 <= summary["theme_micro_f1"] <= 1.0 and 0 < summary["n_errors"] <= 60
    themes = {p["theme"] for p in summary["action_points"]}
    assert themes and themes <= set(load_taxonomy().ids) and all(p["count"] >= 2 for p in summary["action_points"])
    impacts = [p["impact"] for p in summary["action_points"]]
    assert impacts == sorted(impacts)  # most harmful first
    figure = Path(summary["figures"][0])
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 5000
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"{summary['n_errors']} of 60 answers with at least one theme wrong" in outputs
    assert f"NPS {summary['nps']:+.1f}" in outputs

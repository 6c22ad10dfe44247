"""The Ray engine on a real multi-node cluster: a head and two worker nodes started with ``ray start`` on this machine.

The cluster (one CPU per node, so two model actors must sit on two different nodes) is started once for the
module and stopped in the teardown by process id, leaving any other Ray on the machine alone. The model is a
small classifier on the tiny random encoder, sent to the nodes through the object store.
"""

from __future__ import annotations

import importlib.util
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import write_csv

pytest.importorskip("ray", reason="ray is not installed (pip install 'nps-nlp[ray]')")

pytestmark = [pytest.mark.ray_cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*"),
              pytest.mark.filterwarnings("ignore::FutureWarning:ray.*")]

ROOT = Path(__file__).resolve().parents[2]


def _cluster_module():
    spec = importlib.util.spec_from_file_location("bench_ray_cluster", ROOT / "benchmarks" / "ray_cluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    """A head and two worker nodes on 127.0.0.1, one CPU each; the driver environment to reach them."""
    module = _cluster_module()
    saved = {k: os.environ.get(k) for k in module.CLUSTER_ENV}
    os.environ.update(module.CLUSTER_ENV)
    cluster = module.LocalRayCluster(nodes=3, cpus_per_node=1)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def small_model_dir(tiny_encoder_dir, tmp_path_factory) -> Path:
    """A classifier on the tiny random encoder, trained for a few epochs on 120 seed answers."""
    from nps_nlp import FeedbackClassifier
    from nps_nlp.datasets import load_examples

    sample = random.Random(1).sample(load_examples(ROOT / "data" / "seed" / "train.jsonl"), 120)
    clf = FeedbackClassifier(encoder=str(tiny_encoder_dir), epochs=3, lexical_weight=0.0)
    clf.fit([e.text for e in sample], [e.themes for e in sample], sentiment=[e.sentiment for e in sample])
    return clf.save(tmp_path_factory.mktemp("small-model") / "model")


def test_cluster_output_equals_local_engine_and_spans_nodes(tmp_path, rows, small_model_dir, ray_cluster,
                                                            fp32_inference) -> None:
    from nps_nlp.batch import ColumnMap, tag_file
    from nps_nlp.batch._ray import tag_file_ray
    from nps_nlp.pipeline import FeedbackPipeline

    src = write_csv(tmp_path / "export.csv", rows)
    columns = ColumnMap(segments={"channel": "channel"})
    local = tag_file(src, tmp_path / "local.parquet", pipeline=FeedbackPipeline.load(small_model_dir), columns=columns,
                     chunk_size=5, progress=False)
    report = tag_file_ray(src, tmp_path / "ray.parquet", model=small_model_dir, columns=columns,
                          address=ray_cluster.address, workers=2, cpus_per_worker=1, chunk_size=5, ship_model=True)
    assert (report.rows, report.rejected) == (local.rows, local.rejected) == (30, 4)
    a = pd.read_parquet(local.output).sort_values("id").reset_index(drop=True)
    b = pd.read_parquet(report.output).sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert sorted(report.rejects_path.read_text().splitlines()[1:]) == sorted(
        "," + line.split(",", 1)[1] for line in local.rejects_path.read_text().splitlines()[1:])
    # two actors of one CPU each on nodes of one CPU: the work ran on two different nodes
    assert report.workers == 2
    assert len({n["node_id"] for n in report.nodes}) == 2, report.nodes
    assert sum(n["rows"] for n in report.nodes) == 30 and all(n["rows_per_s"] > 0 for n in report.nodes)


def test_ray_address_comes_from_the_environment(tmp_path, rows, small_model_dir, ray_cluster, monkeypatch) -> None:
    from nps_nlp.batch import ColumnMap
    from nps_nlp.batch._ray import tag_file_ray

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    src = write_csv(tmp_path / "export.csv", rows[:10])
    report = tag_file_ray(src, tmp_path / "out", model=small_model_dir, columns=ColumnMap(), workers=0,
                          chunk_size=5)
    # workers=0: the cluster's 3 CPUs less one for reading and writing
    assert report.workers == 2 and report.rows == 10
    assert len({n["ip"] for n in report.nodes}) == 1  # one machine


def test_shipped_model_unpacks_to_the_same_files(tmp_path, small_model_dir) -> None:
    from nps_nlp.batch._ray import pack_model, unpack_model

    data, digest = pack_model(small_model_dir)
    assert pack_model(small_model_dir)[1] == digest  # the same directory, the same name on every node
    target = unpack_model(data, tmp_path / "nodes" / digest)
    files = sorted(p.relative_to(small_model_dir) for p in small_model_dir.rglob("*") if p.is_file())
    assert files and sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file()) == files
    assert all((target / f).read_bytes() == (small_model_dir / f).read_bytes() for f in files)
    assert unpack_model(b"not read again", target) == target  # already there: kept as it is


def test_node_figures_add_up_actors_per_node() -> None:
    from nps_nlp.batch._ray import node_figures

    actors = {"a": {"node_id": "n1", "ip": "10.0.0.1", "rows": 100, "seconds": 2.0},
              "b": {"node_id": "n1", "ip": "10.0.0.1", "rows": 50, "seconds": 1.0},
              "c": {"node_id": "n2", "ip": "10.0.0.2", "rows": 30, "seconds": 3.0}}
    assert node_figures(actors) == [
        {"node_id": "n1", "ip": "10.0.0.1", "actors": 2, "rows": 150, "busy_s": 3.0, "rows_per_s": 100.0},
        {"node_id": "n2", "ip": "10.0.0.2", "actors": 1, "rows": 30, "busy_s": 3.0, "rows_per_s": 10.0}]


def test_cli_ray_options_are_checked_before_ray_starts(tmp_path, rows) -> None:
    from typer.testing import CliRunner

    from nps_nlp.cli import app

    src = write_csv(tmp_path / "export.csv", rows)
    runner = CliRunner()
    res = runner.invoke(app, ["tag", str(src), "-o", str(tmp_path / "out"), "--engine", "ray", "--runtime-env", "{pip"])
    assert res.exit_code == 2 and "--runtime-env is not valid JSON" in res.output
    res = runner.invoke(app, ["tag", str(src), "-o", str(tmp_path / "out"), "--engine", "ray", "--runtime-env", "[1]"])
    assert res.exit_code == 2 and "JSON object" in res.output
    res = runner.invoke(app, ["tag", str(src), "-o", str(tmp_path / "o.csv"), "--ship-model"])
    assert res.exit_code == 2 and "--engine ray" in res.output

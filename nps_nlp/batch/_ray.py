"""The Ray engine: the same tagging job as a Ray Data pipeline.

``read_csv``/``read_json``/``read_parquet`` -> ``map_batches`` with a pool of actors that each load the
pipeline once -> ``write_parquet``. Rows are tagged by the same :func:`nps_nlp.batch._rows.tag_rows` as the
local engine, so the tags are the same. The output is a directory of Parquet files (Ray writes one or
more per block); row order is not guaranteed, so join on an id column. Ray retries failed tasks and
restarts failed actors; a job that is stopped as a whole starts again from the beginning.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from nps_nlp.batch._io import detect_format, open_reader
from nps_nlp.batch._local import TagReport, rejects_path_for
from nps_nlp.batch._rows import ColumnMap, Pipeline, Reject, tag_rows
from nps_nlp.batch._schema import TAG_SCHEMA
from nps_nlp.errors import ConfigError, MissingDependencyError

# the library settings the actors need (never secrets such as NPS_API_KEY)
_LIBRARY_ENV = ("NPS_CACHE_DIR", "NPS_ENCODER", "NPS_ENCODER_BACKEND", "NPS_ENCODER_PRECISION", "NPS_ENCODER_THREADS",
                "NPS_BATCH_SIZE", "NPS_MODEL", "NPS_REGISTRY_DIR", "NPS_EVIDENCE")


class TaggerActor:
    """A Ray actor: builds the pipeline once, then tags one Arrow batch per call.

    Args:
        factory: builds the pipeline (e.g. ``functools.partial(FeedbackPipeline.load, model_dir)``).
        columns: the resolved column mapping as a dict.
        lang: language hint for every answer.
    """

    def __init__(self, factory: Callable[[], Pipeline], columns: dict[str, Any], lang: str | None = None) -> None:
        self.pipeline = factory()
        self.columns = ColumnMap(**columns)
        self.lang = lang

    def __call__(self, batch: pa.Table) -> pa.Table:
        tags, _ = tag_rows(batch.to_pylist(), self.pipeline, self.columns, None, self.lang, first_row=None)
        tag_table = pa.Table.from_pylist(tags, schema=TAG_SCHEMA)
        for field in TAG_SCHEMA:
            batch = batch.append_column(field, tag_table[field.name])
        return batch


def _load_pipeline(model_dir: str) -> Pipeline:
    from nps_nlp.pipeline import FeedbackPipeline

    return FeedbackPipeline.load(model_dir)


def tag_file_ray(input: str | Path, output: str | Path, *, model: str | Path | None = None,
                 pipeline_factory: Callable[[], Pipeline] | None = None, columns: ColumnMap | None = None,
                 input_format: str | None = None, lang: str | None = None, address: str | None = None,
                 workers: int = 1, cpus_per_worker: float = 1.0, chunk_size: int = 1000, overwrite: bool = False,
                 object_store_mb: int = 256, limit: int | None = None) -> TagReport:
    """Tag a file on Ray: a local Ray started for the job, or the cluster at ``address``.

    Args:
        input: a CSV/TSV/JSONL/Parquet file every Ray node can read at the same path.
        output: the output directory of Parquet files.
        model: model directory (default :func:`nps_nlp.registry.resolve_model_path`).
        pipeline_factory: builds the pipeline in each actor (default: load ``model``); must pickle.
        columns, input_format, lang, chunk_size: as for :func:`nps_nlp.batch.tag_file`.
        address: a Ray cluster address (``ray://host:10001`` or ``auto``); ``None`` starts a local Ray.
        workers: actors, each with its own copy of the model.
        cpus_per_worker: CPUs each actor reserves (and torch threads it uses).
        overwrite: replace an existing output directory.
        object_store_mb: object store size of a local Ray.
        limit: tag only the first ``limit`` rows.

    Raises:
        MissingDependencyError: ray is not installed (``pip install 'nps-nlp[ray]'``).
        ConfigError: bad options or an existing output.
    """
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingDependencyError("ray[data]", "ray") from exc
    input, output = Path(input), Path(output)
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    fmt = detect_format(input, input_format)
    if output.suffix.lower() not in ("", ".parquet", ".pq"):
        raise ConfigError(f"the Ray engine writes a directory of Parquet files; {output} names another format "
                          "(use e.g. -o tagged.parquet or -o tagged/)")
    if output.exists() and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it (or choose another output path)")
    reader = open_reader(input, fmt)
    cols = (columns or ColumnMap()).resolve(reader.columns, str(input))
    if pipeline_factory is None:
        from nps_nlp.registry import resolve_model_path

        pipeline_factory = functools.partial(_load_pipeline, str(resolve_model_path(model)))
    started = not ray.is_initialized()
    if started:
        _start_ray(ray, address, workers, cpus_per_worker, object_store_mb)
    t0 = time.perf_counter()
    tmp = output.with_name(output.name + ".tmp-ray")
    try:
        dataset = _read_dataset(ray, input, fmt, reader.columns)
        if limit is not None:
            dataset = dataset.limit(limit)
        tagged = dataset.map_batches(TaggerActor, fn_constructor_args=(pipeline_factory, cols.to_dict(), lang),
                                     concurrency=workers, num_cpus=cpus_per_worker, batch_size=chunk_size,
                                     batch_format="pyarrow")
        if tmp.exists():
            shutil.rmtree(tmp)
        tagged.write_parquet(str(tmp.resolve()))
    finally:
        if started:
            ray.shutdown()
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    os.replace(tmp, output)
    seconds = time.perf_counter() - t0
    rows, rejects = _collect_rejects(output, cols)
    rejects_path = rejects_path_for(output)
    _write_rejects(rejects_path, rejects)
    return TagReport(output, rejects_path, rows, len(rejects), 0, round(seconds, 3),
                     round(rows / seconds, 2) if seconds > 0 else 0.0, cols)


def _start_ray(ray: Any, address: str | None, workers: int, cpus_per_worker: float, object_store_mb: int) -> None:
    """Connect to the cluster at ``address``, or start a local Ray sized for ``workers`` actors."""
    env_vars = {"OMP_NUM_THREADS": str(max(1, int(cpus_per_worker)))}
    env_vars.update({k: os.environ[k] for k in _LIBRARY_ENV if k in os.environ})
    env = {"env_vars": env_vars}
    if address:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    else:
        # one logical CPU more than the actors take, so the read tasks can always run: with every CPU held
        # by a model actor, Ray Data never schedules a read and the job stalls (seen with 2 actors on 2 cores)
        ray.init(include_dashboard=False, object_store_memory=object_store_mb * 1024 * 1024, runtime_env=env,
                 log_to_driver=False, num_cpus=max(os.cpu_count() or 1, int(workers * cpus_per_worker) + 1))


def _read_dataset(ray: Any, input: Path, fmt: str, columns: list[str]) -> Any:
    """The input as an ordered Ray dataset (CSV/TSV fields as strings, like the local engine reads them)."""
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = True
    path = str(input.resolve())
    if fmt in ("csv", "tsv"):
        import pyarrow.csv as pacsv

        return ray.data.read_csv(
            path, parse_options=pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string())))
    if fmt == "jsonl":
        return ray.data.read_json(path, lines=True)
    return ray.data.read_parquet(path)


def _write_rejects(path: Path, rejects: list[Reject]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["row", "id", "reason"])
        writer.writerows([["", r.id or "", r.reason] for r in rejects])


def _collect_rejects(output: Path, cols: ColumnMap) -> tuple[int, list[Reject]]:
    import pyarrow.dataset as ds

    names = ["nps_status", "nps_error"] + ([cols.id] if cols.id else [])
    rows, rejects = 0, []
    for batch in ds.dataset(output, format="parquet").to_batches(columns=names):
        rows += batch.num_rows
        for row in batch.to_pylist():
            if row["nps_status"] != "ok":
                rejects.append(Reject(None, str(row[cols.id]) if cols.id and row[cols.id] is not None else None,
                                      row["nps_error"]))
    return rows, rejects

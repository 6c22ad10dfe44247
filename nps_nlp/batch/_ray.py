"""The Ray engine: the same tagging job as a Ray Data pipeline, on a local Ray or an existing cluster.

``read_csv``/``read_json``/``read_parquet`` -> ``map_batches`` with a pool of actors that each load the
pipeline once -> ``write_parquet``. Rows are tagged by the same :func:`nps_nlp.batch._rows.tag_rows` as the
local engine, so the tags are the same. The output is a directory of Parquet files (Ray writes one or
more per block); row order is not guaranteed, so join on an id column. Ray retries failed tasks and
restarts failed actors; a job that is stopped as a whole starts again from the beginning.

On a cluster (``address``, or ``RAY_ADDRESS``), the input and output paths must be readable and writable at
the same path on every node (a shared file system). The model either comes from a path every node can read,
or (``ship_model``) is packed by the driver, put in the object store once and unpacked once per node. The
code either is installed on every node, or (``ship_code``) is sent with the job's runtime environment. Each
actor records the rows it tagged and the seconds it spent, so the report says which nodes did the work and
how fast each was (see docs/batch-tagging.md).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from nps_nlp import allocator
from nps_nlp.batch._io import detect_format, open_reader
from nps_nlp.batch._local import TagReport, rejects_path_for
from nps_nlp.batch._rows import ColumnMap, Pipeline, Reject, tag_rows
from nps_nlp.batch._schema import TAG_SCHEMA
from nps_nlp.errors import ConfigError, MissingDependencyError

# the library settings the actors need (never secrets such as NPS_API_KEY)
_LIBRARY_ENV = ("NPS_CACHE_DIR", "NPS_ENCODER", "NPS_ENCODER_BACKEND", "NPS_ENCODER_PRECISION", "NPS_ENCODER_THREADS",
                "NPS_BATCH_SIZE", "NPS_MODEL", "NPS_REGISTRY_DIR", "NPS_EVIDENCE", "NPS_ALLOCATOR")


@dataclass
class RayTagReport(TagReport):
    """What a Ray tagging job did: :class:`TagReport` plus the actors and the work of each node.

    Attributes:
        workers: the actors the job ran.
        nodes: one entry per node that tagged rows: ``node_id``, ``ip``, ``actors``, ``rows``, ``busy_s``
            (seconds its actors spent tagging, summed) and ``rows_per_s`` (the node's rate with all its
            actors busy: the sum over its actors of rows / seconds tagging).
    """

    workers: int = 1
    nodes: list[dict[str, Any]] = field(default_factory=list)


class WorkLog:
    """A Ray actor that collects, per tagger actor, its node, the rows it tagged and the seconds it took."""

    def __init__(self) -> None:
        self.actors: dict[str, dict[str, Any]] = {}

    def record(self, actor_id: str, node_id: str, ip: str, rows: int, seconds: float) -> None:
        entry = self.actors.setdefault(actor_id, {"node_id": node_id, "ip": ip, "rows": 0, "seconds": 0.0})
        entry["rows"] += rows
        entry["seconds"] += seconds

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return self.actors


def node_figures(actors: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per node: its actors, rows, busy seconds and rows/s with all its actors busy (see :class:`RayTagReport`)."""
    nodes: dict[str, dict[str, Any]] = {}
    for entry in actors.values():
        node = nodes.setdefault(entry["node_id"], {"node_id": entry["node_id"], "ip": entry["ip"], "actors": 0,
                                                   "rows": 0, "busy_s": 0.0, "rows_per_s": 0.0})
        node["actors"] += 1
        node["rows"] += entry["rows"]
        node["busy_s"] += entry["seconds"]
        node["rows_per_s"] += entry["rows"] / entry["seconds"] if entry["seconds"] > 0 else 0.0
    return [{**n, "busy_s": round(n["busy_s"], 3), "rows_per_s": round(n["rows_per_s"], 2)}
            for n in sorted(nodes.values(), key=lambda n: -n["rows"])]


class TaggerActor:
    """A Ray actor: builds the pipeline once, then tags one Arrow batch per call.

    Args:
        factory: builds the pipeline (e.g. ``functools.partial(FeedbackPipeline.load, model_dir)``).
        columns: the resolved column mapping as a dict.
        lang: language hint for every answer.
        work_log: a :class:`WorkLog` actor to report each batch to (rows, seconds, node), or None.
        threads: torch intra-op threads of this actor (None: leave as the settings make them).
    """

    def __init__(self, factory: Callable[[], Pipeline], columns: dict[str, Any], lang: str | None = None,
                 work_log: Any = None, threads: int | None = None) -> None:
        allocator.tune()  # a long-lived worker: keep its memory level (see nps_nlp.allocator)
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.pipeline = factory()
        self.columns = ColumnMap(**columns)
        self.lang = lang
        self.work_log = work_log

    def __call__(self, batch: pa.Table) -> pa.Table:
        start = time.perf_counter()
        tags, _ = tag_rows(batch.to_pylist(), self.pipeline, self.columns, None, self.lang, first_row=None)
        tag_table = pa.Table.from_pylist(tags, schema=TAG_SCHEMA)
        for field_ in TAG_SCHEMA:
            batch = batch.append_column(field_, tag_table[field_.name])
        allocator.release()
        if self.work_log is not None:
            import ray

            ctx = ray.get_runtime_context()
            # waited for, so that every batch is counted before the job's last batch is written
            ray.get(self.work_log.record.remote(ctx.get_actor_id(), ctx.get_node_id(), ray.util.get_node_ip_address(),
                                                batch.num_rows, time.perf_counter() - start))
        return batch


def _load_pipeline(model_dir: str) -> Pipeline:
    from nps_nlp.pipeline import FeedbackPipeline

    return FeedbackPipeline.load(model_dir)


def pack_model(model_dir: str | Path) -> tuple[bytes, str]:
    """A model directory as an uncompressed tar archive, and a digest of its bytes (its name on the nodes)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ConfigError(f"{model_dir} is not a model directory (no config.json)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    data = buf.getvalue()
    return data, hashlib.blake2b(data, digest_size=12).hexdigest()


def unpack_model(data: bytes, target: Path) -> Path:
    """Unpack a :func:`pack_model` archive into ``target`` (atomically: a finished directory or none)."""
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    try:
        os.replace(tmp, target)
    except OSError:  # another actor on this node finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class ShippedModel:
    """Builds the pipeline from a model sent through the object store: unpacked once per node, then loaded.

    Args:
        ref: the object reference of the :func:`pack_model` archive.
        digest: the archive's digest (the directory name under ``<tmp>/nps-nlp-models/`` on each node).
    """

    def __init__(self, ref: Any, digest: str) -> None:
        self.ref, self.digest = ref, digest

    def __call__(self) -> Pipeline:
        target = Path(tempfile.gettempdir()) / "nps-nlp-models" / self.digest
        if not (target / "config.json").is_file():
            import ray

            unpack_model(ray.get(self.ref), target)
        return _load_pipeline(str(target))


def tag_file_ray(input: str | Path, output: str | Path, *, model: str | Path | None = None,
                 pipeline_factory: Callable[[], Pipeline] | None = None, columns: ColumnMap | None = None,
                 input_format: str | None = None, lang: str | None = None, address: str | None = None,
                 workers: int = 1, cpus_per_worker: float = 1.0, threads_per_worker: int | None = None,
                 chunk_size: int = 1000, overwrite: bool = False, object_store_mb: int = 256, limit: int | None = None,
                 ship_model: bool = False, ship_code: bool = False,
                 runtime_env: dict[str, Any] | None = None) -> RayTagReport:
    """Tag a file on Ray: a local Ray started for the job, or the cluster at ``address``.

    Args:
        input: a CSV/TSV/JSONL/Parquet file every Ray node can read at the same path.
        output: the output directory of Parquet files (every node writes to it at the same path).
        model: model directory (default :func:`nps_nlp.registry.resolve_model_path`).
        pipeline_factory: builds the pipeline in each actor (default: load ``model``); must pickle.
        columns, input_format, lang, chunk_size: as for :func:`nps_nlp.batch.tag_file`.
        address: a Ray cluster address (``host:6379``, ``auto`` or ``ray://host:10001``); default
            ``RAY_ADDRESS`` if set, else a local Ray is started for the job.
        workers: actors, each with its own copy of the model; 0: as many as the cluster's CPUs allow
            (``cpus_per_worker`` each), leaving one CPU for reading and writing.
        cpus_per_worker: CPUs each actor reserves (Ray places actors by it: a node with 8 CPUs holds at most
            8 / ``cpus_per_worker`` actors).
        threads_per_worker: torch threads of each actor (default: ``cpus_per_worker``, at least 1).
        overwrite: replace an existing output directory.
        object_store_mb: object store size of a local Ray.
        limit: tag only the first ``limit`` rows.
        ship_model: send the model directory to the nodes through the object store instead of having each
            node read ``model`` from its own disk.
        ship_code: send the installed ``nps_nlp`` package with the job (runtime environment ``py_modules``),
            for nodes that have its dependencies but not nps-nlp itself.
        runtime_env: more of the job's runtime environment (e.g. ``{"pip": [...]}``), merged over ours.

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
    fmt = _check_options(input, output, input_format, workers, overwrite)
    reader = open_reader(input, fmt)
    cols = (columns or ColumnMap()).resolve(reader.columns, str(input))
    threads = threads_per_worker or max(1, int(cpus_per_worker))
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        _start_ray(ray, address, workers, cpus_per_worker, object_store_mb,
                   _runtime_env(threads, ship_code, runtime_env))
    t0 = time.perf_counter()
    tmp = output.with_name(output.name + ".tmp-ray")
    try:
        workers = workers or _auto_workers(ray, cpus_per_worker)
        factory = pipeline_factory or _model_factory(ray, model, ship_model)
        work_log = ray.remote(num_cpus=0)(WorkLog).remote()
        dataset = _read_dataset(ray, input, fmt, reader.columns)
        if limit is not None:
            dataset = dataset.limit(limit)
        # blocks of one chunk each: a file is read as one block per ~128 MB, and a block goes to one actor
        dataset = dataset.repartition(target_num_rows_per_block=chunk_size)
        tagged = dataset.map_batches(TaggerActor, fn_constructor_args=(factory, cols.to_dict(), lang, work_log, threads),
                                     concurrency=workers, num_cpus=cpus_per_worker, batch_size=chunk_size,
                                     batch_format="pyarrow")
        if tmp.exists():
            shutil.rmtree(tmp)
        tagged.write_parquet(str(tmp.resolve()))
        nodes = node_figures(ray.get(work_log.snapshot.remote()))
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
    return RayTagReport(output, rejects_path, rows, len(rejects), 0, round(seconds, 3),
                        round(rows / seconds, 2) if seconds > 0 else 0.0, cols, workers, nodes)


def _check_options(input: Path, output: Path, input_format: str | None, workers: int, overwrite: bool) -> str:
    """The input format, after checking the options that need no file read.

    Raises:
        ConfigError: negative workers, an unknown input format, an output that names a format other than Parquet,
            or an existing output without ``overwrite``.
    """
    if workers < 0:
        raise ConfigError(f"workers must be >= 0 (0: as many as the cluster's CPUs allow), got {workers}")
    fmt = detect_format(input, input_format)
    if output.suffix.lower() not in ("", ".parquet", ".pq"):
        raise ConfigError(f"the Ray engine writes a directory of Parquet files; {output} names another format "
                          "(use e.g. -o tagged.parquet or -o tagged/)")
    if output.exists() and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it (or choose another output path)")
    return fmt


def _runtime_env(threads: int, ship_code: bool, extra: dict[str, Any] | None) -> dict[str, Any]:
    """The job's runtime environment: thread counts, the library settings, the package if shipped, ``extra``."""
    env_vars = {"OMP_NUM_THREADS": str(threads), "NPS_ENCODER_THREADS": str(threads)}
    env_vars.update({k: os.environ[k] for k in _LIBRARY_ENV if k in os.environ})
    env: dict[str, Any] = {"env_vars": env_vars}
    if ship_code:
        import nps_nlp

        env["py_modules"] = [str(Path(nps_nlp.__file__).parent)]
    for key, value in (extra or {}).items():
        env[key] = {**env.get(key, {}), **value} if key == "env_vars" else value
    return env


def _start_ray(ray: Any, address: str | None, workers: int, cpus_per_worker: float, object_store_mb: int,
               env: dict[str, Any]) -> None:
    """Connect to the cluster at ``address``, or start a local Ray sized for ``workers`` actors."""
    if address:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
        return
    if not workers:
        workers = max(1, int(((os.cpu_count() or 2) - 1) // cpus_per_worker))
    # one logical CPU more than the actors take, so the read tasks can always run: with every CPU held
    # by a model actor, Ray Data never schedules a read and the job stalls (seen with 2 actors on 2 cores)
    ray.init(include_dashboard=False, object_store_memory=object_store_mb * 1024 * 1024, runtime_env=env,
             log_to_driver=False, num_cpus=max(os.cpu_count() or 1, int(workers * cpus_per_worker) + 1))


def _auto_workers(ray: Any, cpus_per_worker: float) -> int:
    """As many actors as the cluster's CPUs hold at ``cpus_per_worker`` each, one CPU left for reads and writes."""
    cpus = float(ray.cluster_resources().get("CPU", 1))
    return max(1, int((cpus - 1) // cpus_per_worker))


def _model_factory(ray: Any, model: str | Path | None, ship: bool) -> Callable[[], Pipeline]:
    """What builds the pipeline in each actor: load the model from its path, or from the object store."""
    from nps_nlp.registry import resolve_model_path

    model_dir = resolve_model_path(model)
    if not ship:
        return functools.partial(_load_pipeline, str(model_dir))
    data, digest = pack_model(model_dir)
    return ShippedModel(ray.put(data), digest)


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

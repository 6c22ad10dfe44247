"""The local engine: stream a file in chunks through the pipeline, resumably.

Layout while a job runs (``OUTPUT`` = the output path)::

    OUTPUT.parts/manifest.json            options + input fingerprint + progress (rewritten atomically per chunk)
    OUTPUT.parts/part-000000.csv          tagged rows of chunk 0 in the output format (atomic rename)
    OUTPUT.parts/part-000000.rejects.csv  rejected rows of chunk 0

A chunk's part files are complete whenever they exist under their final name, and the manifest only
counts a chunk after its parts are in place, so a job killed at any moment restarts at the first chunk
the manifest does not count. Chunks are a fixed number of input rows, and a chunk's output depends only
on its rows, so the restarted job writes the same bytes. At the end the parts are concatenated into
``OUTPUT`` (written to a temporary name, then renamed) and ``OUTPUT.rejects.csv``, and ``OUTPUT.parts/`` is
removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nps_nlp import allocator
from nps_nlp.batch._io import PartWriter, detect_format, open_reader
from nps_nlp.batch._rows import ColumnMap, Pipeline, Reject, tag_rows
from nps_nlp.batch._schema import SCHEMA_VERSION
from nps_nlp.errors import ConfigError
from nps_nlp.tabular import Reader

MANIFEST_VERSION = 1
REJECT_COLUMNS = ("row", "id", "reason")


@dataclass
class TagReport:
    """What a tagging job did.

    Attributes:
        output: the output file (a directory of Parquet files for the Ray engine).
        rejects_path: the side file listing rejected rows (``row``, ``id``, ``reason``).
        rows: rows in the output (tagged + rejected).
        rejected: rows that could not be tagged.
        resumed_rows: rows already done by an earlier, interrupted run (0 for a fresh run).
        seconds: wall time of this run (model loading and assembly included).
        rows_per_s: rows this run tagged per second of tagging (model loading not included).
        columns: the resolved column mapping.
    """

    output: Path
    rejects_path: Path
    rows: int
    rejected: int
    resumed_rows: int
    seconds: float
    rows_per_s: float
    columns: ColumnMap

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "output": str(self.output), "rejects_path": str(self.rejects_path)}


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """Size and BLAKE2b digest of a file's bytes (what a resumed job must find unchanged)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return {"size": os.path.getsize(path), "blake2b": digest.hexdigest()}


def model_fingerprint(model_dir: str | Path) -> str:
    """A short id of a model directory: a digest of its ``config.json`` and the sizes of its files."""
    model_dir = Path(model_dir)
    digest = hashlib.blake2b(digest_size=8)
    for f in sorted(model_dir.iterdir()):
        if f.is_file():
            digest.update(f.name.encode() + str(f.stat().st_size).encode())
            if f.name == "config.json":
                digest.update(f.read_bytes())
    return f"{model_dir.resolve()}#{digest.hexdigest()}"


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _rejects_csv(rejects: list[Reject]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([["" if r.row is None else r.row, r.id or "", r.reason] for r in rejects])
    return buf.getvalue().encode("utf-8")


def write_rejects(path: Path, parts: list[Path]) -> None:
    """Concatenate rejects part files into ``path`` with a header (written atomically)."""
    def write(f: Any) -> None:
        f.write((",".join(REJECT_COLUMNS) + "\n").encode())
        for part in parts:
            f.write(part.read_bytes())
    _atomic_write(path, write)


def rejects_path_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".rejects.csv")


def parts_dir_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".parts")


def tag_file(input: str | Path, output: str | Path, *, pipeline: Pipeline | None = None, model: str | Path | None = None,
             columns: ColumnMap | None = None, input_format: str | None = None, output_format: str | None = None,
             chunk_size: int = 1000, lang: str | None = None, encoding: str = "utf-8", limit: int | None = None,
             restart: bool = False, overwrite: bool = False, progress: bool = True, model_id: str | None = None,
             after_chunk: Callable[[int], None] | None = None) -> TagReport:
    """Tag every row of a CSV/TSV/JSONL/Parquet file and write the input columns plus the tag columns.

    Resumable: if a run is killed, running the same command again continues after the last finished
    chunk, and the output is byte-identical (row-identical for Parquet) to an uninterrupted run.

    Args:
        input: the input file.
        output: the output file (its format from ``output_format`` or the extension).
        pipeline: the tagger (default: :meth:`FeedbackPipeline.load` of ``model``).
        model: model directory (default :func:`nps_nlp.registry.resolve_model_path`).
        columns: the column mapping (default: ``text``, and ``score``/``id``/``timestamp`` when present).
        input_format, output_format: ``csv``, ``tsv``, ``jsonl`` or ``parquet`` (default: from the extension).
        chunk_size: rows per chunk (one ``analyze`` call, one part file, one checkpoint).
        lang: language hint for every answer.
        encoding: text encoding of CSV/JSONL input (ASCII-compatible encodings only).
        limit: tag only the first ``limit`` rows.
        restart: discard the parts of an earlier run instead of resuming.
        overwrite: replace an existing output file.
        progress: show a progress bar (rate and ETA) on stderr.
        model_id: identifies the model in the resume check (default: a fingerprint of ``model``).
        after_chunk: called with the number of finished chunks after each checkpoint (tests use it to
            simulate a crash).

    Returns:
        A :class:`TagReport`.

    Raises:
        ConfigError: bad options, the output exists, or a resume finds different input or options.
        DataFormatError: the input cannot be read or lacks the text column.
    """
    input, output = Path(input), Path(output)
    allocator.tune()  # a long job: keep its memory level (see nps_nlp.allocator)
    in_fmt, out_fmt = _check_options(input, output, input_format, output_format, chunk_size, limit)
    reader = open_reader(input, in_fmt, encoding)
    cols = (columns or ColumnMap()).resolve(reader.columns, str(input))
    parts_dir, rejects_path = parts_dir_for(output), rejects_path_for(output)
    if restart and parts_dir.exists():
        shutil.rmtree(parts_dir)
    if output.exists() and not parts_dir.exists() and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it (or choose another output path)")
    model_dir = None
    if pipeline is None:
        from nps_nlp.registry import resolve_model_path

        model_dir = resolve_model_path(model)
        model_id = model_id or model_fingerprint(model_dir)
    options = {
        "manifest_version": MANIFEST_VERSION, "schema_version": SCHEMA_VERSION, "input": str(input.resolve()),
        "input_fingerprint": file_fingerprint(input), "input_format": in_fmt, "output_format": out_fmt,
        "columns": cols.to_dict(), "chunk_size": chunk_size, "lang": lang, "encoding": encoding, "limit": limit,
        "model": model_id,
    }
    job = _Job(parts_dir, options, PartWriter(out_fmt, reader))
    resumed_rows = int(job.state["rows"])
    start = time.perf_counter()
    if limit is not None and job.state["rows"] >= limit:
        job.state["complete"] = True
    tag_seconds = 0.0
    if not job.state["complete"]:
        if pipeline is None:
            from nps_nlp.pipeline import FeedbackPipeline

            pipeline = FeedbackPipeline.load(model_dir)  # type: ignore[arg-type]  # set above when pipeline is None
        tag_seconds = _tag_chunks(job, reader, pipeline, cols, chunk_size=chunk_size, limit=limit, lang=lang,
                                  progress=progress, after_chunk=after_chunk)
    job.assemble(output, rejects_path)
    seconds = time.perf_counter() - start
    rows_total = int(job.state["rows"])
    return TagReport(output, rejects_path, rows_total, int(job.state["rejected"]), resumed_rows,
                     round(seconds, 3), round((rows_total - resumed_rows) / tag_seconds, 2) if tag_seconds > 0 else 0.0, cols)


def _check_options(input: Path, output: Path, input_format: str | None, output_format: str | None,
                   chunk_size: int, limit: int | None) -> tuple[str, str]:
    """The input and output formats, after checking the options that need no file read.

    Raises:
        ConfigError: a chunk size below 1, a negative limit, an unknown format or the output is the input.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    in_fmt = detect_format(input, input_format)
    out_fmt = detect_format(output, output_format)
    if input.resolve() == output.resolve():
        raise ConfigError(f"the output {output} is the input file; choose another output path")
    return in_fmt, out_fmt


class _Job:
    """The parts directory of one tagging job: its manifest (options and progress) and part files."""

    def __init__(self, parts_dir: Path, options: dict[str, Any], writer: PartWriter) -> None:
        self.parts_dir, self.options, self.writer = parts_dir, options, writer
        self.manifest_path = parts_dir / "manifest.json"
        self.state: dict[str, Any] = {"done_chunks": 0, "position": None, "rows": 0, "rejected": 0, "complete": False}
        if self.manifest_path.exists():
            saved = json.loads(self.manifest_path.read_text())
            differs = [k for k in options if saved.get("options", {}).get(k) != options[k]]
            if differs:
                raise ConfigError(f"{parts_dir} holds an unfinished run with a different {', '.join(differs)}; run the "
                                  "same command to resume it, or pass --restart to discard it and start over")
            self.state.update(saved["state"])
        parts_dir.mkdir(parents=True, exist_ok=True)

    def checkpoint(self) -> None:
        """Save the options and progress (atomically)."""
        manifest = json.dumps({"options": self.options, "state": self.state}, indent=1).encode()
        _atomic_write(self.manifest_path, lambda f: f.write(manifest))

    def write_chunk(self, index: int, tagged: list[dict[str, Any]], rejects: list[Reject]) -> None:
        """Write one chunk's part files (rejects first), each under its final name only when complete."""
        rejects_bytes = _rejects_csv(rejects)
        _atomic_write(self.parts_dir / f"part-{index:06d}.rejects.csv", lambda f: f.write(rejects_bytes))
        _atomic_write(self.parts_dir / f"part-{index:06d}{self.writer.suffix}", lambda f: self.writer.write(tagged, f))

    def assemble(self, output: Path, rejects_path: Path) -> None:
        """Concatenate the parts into the output and the rejects file, then remove the parts directory."""
        n_chunks = int(self.state["done_chunks"])
        write_rejects(rejects_path, [self.parts_dir / f"part-{i:06d}.rejects.csv" for i in range(n_chunks)])
        parts = [self.parts_dir / f"part-{i:06d}{self.writer.suffix}" for i in range(n_chunks)]
        _atomic_write(output, lambda f: self.writer.assemble(parts, f))
        shutil.rmtree(self.parts_dir)


def _tag_chunks(job: _Job, reader: Reader, pipeline: Pipeline, cols: ColumnMap, *, chunk_size: int, limit: int | None,
                lang: str | None, progress: bool, after_chunk: Callable[[int], None] | None) -> float:
    """Tag the chunks the job has not done yet, one checkpoint per chunk; returns the seconds spent tagging."""
    from tqdm.auto import tqdm

    state, resumed_rows = job.state, int(job.state["rows"])
    tag_start = time.perf_counter()
    position = state["position"] if state["position"] is not None else reader.start_position()
    bar = tqdm(total=reader.total, initial=position, unit=reader.unit, unit_scale=True, desc="tagging",
               file=sys.stderr, disable=not progress, smoothing=0.1)
    try:
        for chunk in reader.chunks(chunk_size, start=position, start_row=int(state["rows"])):
            rows, problems = chunk.rows, chunk.problems
            if limit is not None:
                rows, problems = rows[: limit - chunk.start_row], problems[: limit - chunk.start_row]
            tags, rejects = tag_rows(rows, pipeline, cols, problems, lang, chunk.start_row)
            index = int(state["done_chunks"])
            job.write_chunk(index, [{**row, **tag} for row, tag in zip(rows, tags, strict=True)], rejects)
            state.update(done_chunks=index + 1, position=chunk.end, rows=chunk.start_row + len(rows),
                         rejected=int(state["rejected"]) + len(rejects))
            done = limit is not None and state["rows"] >= limit
            if done:
                state["complete"] = True
            job.checkpoint()
            allocator.release()  # the chunk's arrays are freed: hand their pages back before the next chunk
            bar.update(chunk.end - bar.n)
            elapsed = time.perf_counter() - tag_start
            bar.set_postfix_str(f"{state['rows']:,} rows, {(int(state['rows']) - resumed_rows) / max(elapsed, 1e-9):.1f} rows/s")
            if after_chunk is not None:
                after_chunk(index + 1)
            if done:
                break
        state["complete"] = True
        job.checkpoint()
    finally:
        bar.close()
    return time.perf_counter() - tag_start

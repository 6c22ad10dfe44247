"""``nps-nlp tag``: tag a survey export (CSV/TSV, JSONL, Parquet) locally or on Ray."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nps_nlp.cli.common import app, err, fail, parse_columns
from nps_nlp.errors import NpsNlpError

if TYPE_CHECKING:
    from nps_nlp.batch import TagReport


class Engine(StrEnum):
    local = "local"
    ray = "ray"


def _history_client():  # -> httpx.Client
    """A client whose every request carries ``mode=history`` (the bulk endpoint's history mode)."""
    try:
        import httpx
    except ImportError as exc:
        from nps_nlp.errors import MissingDependencyError

        raise MissingDependencyError("httpx", "api") from exc
    return httpx.Client(timeout=120.0, params={"mode": "history"})


@app.command()
def tag(
    input: Annotated[Path, typer.Argument(help="CSV/TSV, JSONL or Parquet file of survey answers.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (input columns + tag columns); "
                                         "a directory of Parquet files with --engine ray.")],
    input_format: Annotated[str | None, typer.Option(help="csv, tsv, jsonl or parquet (default: from the extension).")] = None,
    output_format: Annotated[str | None, typer.Option(help="csv, tsv, jsonl or parquet (default: from the extension).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column with the answer text (default: text).")] = None,
    score_column: Annotated[str | None, typer.Option(help="Column with the 0-10 score (default: score, if present).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the response id (default: id, if present).")] = None,
    timestamp_column: Annotated[str | None, typer.Option(help="Column with the ISO timestamp (default: timestamp, if present).")] = None,
    lang_column: Annotated[str | None, typer.Option(help="Column with a per-row language hint (nl, nb, nn, en).")] = None,
    customer_column: Annotated[str | None, typer.Option(help="Column with the customer id (sent with --to-service).")] = None,
    segment: Annotated[list[str] | None, typer.Option(help="KEY=COLUMN for team, department, channel, touchpoint, "
                                                      "country (repeatable).")] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: NPS_MODEL, the registry's active "
                                               "model, or models/default).")] = None,
    lang: Annotated[str | None, typer.Option(help="Language hint for every answer.")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per chunk (one checkpoint each).")] = 1000,
    encoding: Annotated[str, typer.Option(help="Encoding of CSV/JSONL input.")] = "utf-8",
    limit: Annotated[int | None, typer.Option(min=0, help="Tag only the first N rows.")] = None,
    restart: Annotated[bool, typer.Option(help="Discard an unfinished earlier run instead of resuming it.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    engine: Annotated[Engine, typer.Option(help="local: this machine, resumable; ray: a Ray Data pipeline.")] = Engine.local,
    address: Annotated[str | None, typer.Option("--ray-address", "--address", help="Ray cluster address (host:6379, "
                                                "auto, ray://host:10001; default: RAY_ADDRESS, else a local Ray).")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Ray actors, each with its own model copy (0: as many as the "
                                         "cluster's CPUs hold, one CPU left for reading and writing).")] = 1,
    cpus_per_worker: Annotated[float, typer.Option(min=0.1, help="CPUs each Ray actor reserves (actors per node = "
                                                   "node CPUs / this).")] = 1.0,
    threads_per_worker: Annotated[int | None, typer.Option(min=1, help="Torch threads per Ray actor (default: "
                                                           "--cpus-per-worker).")] = None,
    ship_model: Annotated[bool, typer.Option(help="Ray: send the model to the nodes through the object store "
                                             "(default: every node reads --model at the same path).")] = False,
    ship_code: Annotated[bool, typer.Option(help="Ray: send the nps_nlp package with the job (py_modules), for "
                                            "nodes without nps-nlp installed.")] = False,
    runtime_env: Annotated[str | None, typer.Option(help="Ray: more of the job's runtime environment as JSON, e.g. "
                                                    "'{\"pip\": [\"nps-nlp\"]}'.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Also write the summary to this .json or .html file.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Action points shown in the summary.")] = 5,
    to_service: Annotated[str | None, typer.Option(help="After tagging, load the responses into the service at this URL.")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="NPS_API_KEY", help="API key for --to-service (or NPS_API_KEY).")] = None,
    history: Annotated[bool, typer.Option("--history", help="With --to-service: load as history (mode=history: no "
                                          "thank-yous; alerts of old answers created resolved or not at all).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Tag every answer of a survey export: language, sentiment, themes, urgency, routing.

    Streams in chunks with bounded memory, resumes after an interruption (run the same command again),
    lists unprocessable rows in OUTPUT.rejects.csv, and prints a summary (NPS, languages, action points).
    """
    from nps_nlp.batch import ColumnMap, tag_file

    try:
        if history and not to_service:
            raise NpsNlpError("--history needs --to-service URL (it says how the service stores the answers)")
        segments = parse_columns(segment)
        columns = ColumnMap(text=text_column, score=score_column, id=id_column, timestamp=timestamp_column,
                            lang=lang_column, customer=customer_column, segments=segments)
        if engine is Engine.ray:
            report = _tag_ray(input, output, model=model, columns=columns, input_format=input_format, lang=lang,
                              address=address, workers=workers, cpus_per_worker=cpus_per_worker,
                              threads_per_worker=threads_per_worker, chunk_size=chunk_size, overwrite=overwrite,
                              limit=limit, ship_model=ship_model, ship_code=ship_code, runtime_env=runtime_env)
        else:
            if address is not None or workers != 1 or ship_model or ship_code or runtime_env:
                raise NpsNlpError("--ray-address, --workers, --ship-model, --ship-code and --runtime-env need "
                                  "--engine ray")
            report = tag_file(input, output, model=model, columns=columns, input_format=input_format,
                              output_format=output_format, chunk_size=chunk_size, lang=lang, encoding=encoding,
                              limit=limit, restart=restart, overwrite=overwrite, progress=progress)
        if report.resumed_rows:
            err.print(f"resumed after {report.resumed_rows:,} rows done by an earlier run")
        err.print(f"wrote {report.output} ({report.rows:,} rows, {report.rejected:,} rejected -> {report.rejects_path}); "
                  f"{report.rows_per_s:,.1f} rows/s")
        _print_summary(report, model, None if engine is Engine.ray else output_format, summary, top)
        if to_service:
            _upload(report, to_service, api_key, history=history, progress=progress)
    except NpsNlpError as exc:
        fail(exc)


def _tag_ray(input: Path, output: Path, *, runtime_env: str | None, **options: object) -> TagReport:
    """Run the Ray engine (``--runtime-env`` parsed from JSON) and print which nodes did the work."""
    import json

    from nps_nlp.batch._ray import tag_file_ray

    try:
        env = json.loads(runtime_env) if runtime_env else None
    except json.JSONDecodeError as exc:
        raise NpsNlpError(f"--runtime-env is not valid JSON ({exc}); e.g. '{{\"pip\": [\"nps-nlp\"]}}'") from exc
    if env is not None and not isinstance(env, dict):
        raise NpsNlpError("--runtime-env must be a JSON object, e.g. '{\"working_dir\": \".\"}'")
    report = tag_file_ray(input, output, runtime_env=env, **options)  # type: ignore[arg-type]
    for node in report.nodes:
        err.print(f"  node {node['node_id'][:12]} ({node['ip']}): {node['actors']} actor(s), {node['rows']:,} rows, "
                  f"{node['rows_per_s']:,.1f} rows/s while tagging")
    return report


def _print_summary(report: TagReport, model: Path | None, output_format: str | None, summary: Path | None,
                   top: int) -> None:
    """Print the summary of a tagged output (and write it to ``summary``), with the model's taxonomy."""
    from rich.console import Console

    from nps_nlp.batch import summarize_output
    from nps_nlp.registry import resolve_model_path
    from nps_nlp.taxonomy import load_taxonomy

    taxonomy_file = resolve_model_path(model) / "taxonomy.yaml"
    taxonomy = load_taxonomy(taxonomy_file, strict_ids=False) if taxonomy_file.is_file() else None
    result = summarize_output(report.output, report.columns, fmt=output_format, taxonomy=taxonomy)
    Console().print(result.render(top))
    if summary is not None:
        result.write(summary, top=max(top, 10))
        err.print(f"summary written to {summary}")


def _upload(report: TagReport, to_service: str, api_key: str | None, *, history: bool, progress: bool) -> None:
    """Load a tagged output into the service (``--to-service``) and print what it took and refused."""
    from nps_nlp.batch._upload import upload_to_service

    client = _history_client() if history else None
    try:
        uploaded = upload_to_service(report.output, to_service, api_key, report.columns, progress=progress,
                                     client=client)
    finally:
        if client is not None:
            client.close()
    err.print(f"service: {uploaded.created:,} created, {uploaded.duplicate:,} duplicate, "
              f"{len(uploaded.errors):,} refused, {uploaded.skipped:,} rejected rows not sent")
    for e in uploaded.errors[:10]:
        err.print(f"  refused {e['external_id']}: {e['error']}")

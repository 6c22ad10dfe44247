"""``nps-nlp suggest``, ``nps-nlp audit`` and ``nps-nlp discover``: the analyst's labelling tools.

Thin wrappers over :mod:`training.active_learning`, :mod:`training.audit` and :mod:`training.discover`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.cli.common import FORMAT_HELP, app, default_model_path, err, fail, parse_columns
from nps_nlp.errors import DataFormatError, NpsNlpError

_OUTPUT_SUFFIXES = (".csv", ".jsonl", ".json", ".yaml", ".yml")


def _model_dir(model: Path | None) -> Path:
    """A model directory, a training run directory (its ``model-best``), or the default model."""
    from nps_nlp.model_dir import resolve_model_dir

    return resolve_model_dir(model or default_model_path())


def _columns(text_column: str | None, column: list[str] | None) -> dict[str, str] | None:
    columns = parse_columns(column)
    if text_column:
        columns["text"] = text_column
    return columns or None


def _write_rows(path: Path, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    """Write rows as CSV or JSON Lines (by extension), atomically (a temporary file, then a rename)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise DataFormatError(f"cannot write {path}: expected a .csv or .jsonl output file, found {suffix or 'no extension'!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        if suffix == ".csv":
            writer = csv.DictWriter(fh, fieldnames=list(fields), extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
        else:
            for row in rows:
                fh.write(json.dumps({k: row[k] for k in fields}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _short(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# ---------------------------------------------------------------------------------------------- suggest
@app.command()
def suggest(
    input: Annotated[Path, typer.Argument(help="Unlabelled answers: a CSV, JSONL or Parquet file.")],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="How many answers to pick.")] = 50,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: NPS_MODEL, registry, models/default).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the answer text.")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    output: Annotated[Path | None, typer.Option(help="Write the picks to a .csv or .jsonl file (loadable for training).")] = None,
    sentiment_weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="Weight of sentiment uncertainty.")] = 0.3,
    pool_factor: Annotated[int, typer.Option(min=1, help="Uncertain pool size as a multiple of N (1 = no diversity).")] = 5,
    no_balance: Annotated[bool, typer.Option("--no-balance", help="Do not take turns between languages.")] = False,
    include_labelled: Annotated[bool, typer.Option("--include-labelled", help="Also consider rows that already have themes.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Pick the N unlabelled answers most worth labelling next (uncertain, diverse, balanced over languages).

    The output file is in the project's own format (id, text, lang, themes, sentiment, ...) with the model's
    pre-labels: correct the themes/sentiment columns and train on it.

    Example: nps-nlp suggest new_answers.csv -n 100 --text-column comment --output to_label.csv
    """
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples
    from training.active_learning import suggest as run_suggest
    from training.audit import format_themes

    try:
        _check_output(output, (".csv", ".jsonl"))
        examples = load_examples(input, columns=_columns(text_column, column))
        rows = [i for i, e in enumerate(examples) if include_labelled or e.themes is None]
        if not rows:
            raise DataFormatError(f"{input}: all {len(examples)} rows already have theme labels; nothing to suggest "
                                  "(pass --include-labelled to rank them anyway)")
        clf = FeedbackClassifier.load(_model_dir(model))
        picks = run_suggest(clf, [examples[i].text for i in rows], n=n, ids=[examples[i].id for i in rows],
                            langs=[examples[i].lang for i in rows], sentiment_weight=sentiment_weight,
                            pool_factor=pool_factor, balance_languages=not no_balance, show_progress_bar=not quiet)
    except NpsNlpError as exc:
        fail(exc)
        return
    records = []
    for p in picks:
        record = p.to_dict()
        record["row"] = rows[p.row] + 1  # 1-based data row in the input file
        record["themes"] = format_themes(p.themes)  # type: ignore[arg-type]
        records.append(record)
    if output:
        fields = ["rank", "row", "id", "lang", "uncertainty", "theme_uncertainty", "sentiment_uncertainty", "distance",
                  "themes", "sentiment", "reason", "text"]
        _write_rows(output, records, fields)
        err.print(f"{len(records)} pick(s) written to {output}")
    table = Table(title=f"{len(records)} answer(s) to label next, of {len(rows)} unlabelled")
    for col in ("#", "row", "id", "lang", "uncert.", "pre-labels", "why", "answer"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(str(r["rank"]), str(r["row"]), r["id"], r["lang"], f"{r['uncertainty']:.2f}",
                      (r["themes"] or "-") + f" | {r['sentiment']}", r["reason"], _short(r["text"]))
    Console(width=200).print(table)


def _check_output(output: Path | None, suffixes: Sequence[str]) -> None:
    if output is not None and output.suffix.lower() not in suffixes:
        raise DataFormatError(f"cannot write {output}: expected one of {', '.join(suffixes)}, "
                              f"found {output.suffix or 'no extension'!r}")


# ---------------------------------------------------------------------------------------------- audit
@app.command()
def audit(
    data: Annotated[str, typer.Argument(help="Labelled answers (file or directory).")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    encoder: Annotated[str | None, typer.Option(help="Encoder name or sentence-transformers path (default: e5).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the answer text.")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0, help="Only list flags at least this confident.")] = 0.8,
    no_sentiment: Annotated[bool, typer.Option("--no-sentiment", help="Audit theme labels only.")] = False,
    top: Annotated[int, typer.Option(min=1, help="Rows to print (the output file gets all).")] = 30,
    output: Annotated[Path | None, typer.Option(help="Write all flags to a .csv or .jsonl file.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fold assignment.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """List labelled answers that are probably mislabelled (cross-validated disagreement), with a suggested label.

    Example: nps-nlp audit data/seed/train.jsonl --output suspects.csv
    """
    from nps_nlp.datasets import load_examples
    from training.audit import audit_labels

    try:
        _check_output(output, (".csv", ".jsonl"))
        examples = load_examples(data, format=format, columns=_columns(text_column, column), label_map=label_map)
        report = audit_labels(examples, encoder=encoder, folds=folds, check_sentiment=not no_sentiment,
                              min_confidence=min_confidence, random_state=seed, show_progress_bar=not quiet)
    except NpsNlpError as exc:
        fail(exc)
        return
    records = [f.to_dict() for f in report.flags]
    for r in records:
        r["row"] += 1  # 1-based, like the data row number in the file
    if output:
        _write_rows(output, records, ["row", "id", "lang", "confidence", "gold", "suggested", "kinds", "issues", "text"])
        err.print(f"{len(records)} flag(s) written to {output}")
    if report.skipped_labels:
        err.print("[yellow]note:[/] not audited (fewer examples than folds): "
                  + ", ".join(f"{k} ({v})" for k, v in sorted(report.skipped_labels.items())))
    table = Table(title=f"{len(records)} suspect label(s) in {report.n_examples} answers "
                        f"({folds}-fold cross-validation, confidence >= {min_confidence})")
    for col in ("row", "id", "conf.", "gold", "suggested", "why", "answer"):
        table.add_column(col, overflow="fold")
    for r in records[:top]:
        table.add_row(str(r["row"]), r["id"], f"{r['confidence']:.2f}", r["gold"], r["suggested"],
                      "\n".join(r["issues"]), _short(r["text"]))
    Console(width=200).print(table)


# ---------------------------------------------------------------------------------------------- discover
@app.command()
def discover(
    input: Annotated[Path, typer.Argument(help="Answers: a CSV, JSONL or Parquet file.")],
    model: Annotated[Path | None, typer.Option(help="Model directory (default: NPS_MODEL, registry, models/default).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the answer text.")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    max_confidence: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Answers whose most confident theme is below this count as uncovered.")] = 0.5,
    min_cluster_size: Annotated[int, typer.Option(min=2, help="Smallest cluster worth a candidate theme.")] = 10,
    max_clusters: Annotated[int, typer.Option(min=2, help="Most clusters to try.")] = 12,
    method: Annotated[str, typer.Option(help="agglomerative (silhouette picks k) or hdbscan.")] = "agglomerative",
    output: Annotated[Path | None, typer.Option(help="Write the candidate themes as taxonomy YAML (.yaml).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Cluster answers no theme covers (or covers weakly) and propose candidate themes as taxonomy YAML.

    Example: nps-nlp discover answers.csv --text-column comment --output candidates.yaml
    """
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples
    from training.discover import candidates_yaml
    from training.discover import discover as run_discover

    try:
        _check_output(output, (".yaml", ".yml"))
        examples = load_examples(input, columns=_columns(text_column, column))
        clf = FeedbackClassifier.load(_model_dir(model))
        result = run_discover(clf, [e.text for e in examples], langs=[e.lang for e in examples],
                              max_confidence=max_confidence, min_cluster_size=min_cluster_size,
                              max_clusters=max_clusters, method=method, show_progress_bar=not quiet)
    except NpsNlpError as exc:
        fail(exc)
        return
    text = candidates_yaml(result.candidates, taxonomy=clf.taxonomy_)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
        err.print(f"{len(result.candidates)} candidate theme(s) written to {output}")
    err.print(f"{result.n_uncovered} of {result.n_answers} answers uncovered (no theme with confidence >= "
              f"{max_confidence}); {sum(c.size for c in result.candidates)} of them in {len(result.candidates)} "
              f"cluster(s) of at least {min_cluster_size}")
    table = Table(title="candidate themes")
    for col in ("id", "size", "languages", "terms", "representative answers"):
        table.add_column(col, overflow="fold")
    for c in result.candidates:
        reps = "\n".join(f"[{lang}] {_short(t, 90)}" for lang, texts in c.examples.items() for t in texts[:1])
        table.add_row(c.id, str(c.size), ", ".join(f"{k} {v}" for k, v in c.languages.items()),
                      ", ".join(c.terms[:8]), reps)
    Console(width=200).print(table)
    if not output:
        typer.echo(text)

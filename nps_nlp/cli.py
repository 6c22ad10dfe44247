"""The ``nps-nlp`` command line: a thin typer wrapper over library functions."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.errors import NpsNlpError

app = typer.Typer(help="nps-nlp: themes, per-theme sentiment and urgency for NPS answers (nl, nb, nn, en).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True, soft_wrap=True)

FORMAT_HELP = "jsonl, csv, parquet, semeval2016, mams, norec, airline (also semeval2014, norec_fine)"


class OutputFormat(StrEnum):
    json = "json"
    table = "table"


def default_model_path() -> Path:
    """``NPS_MODEL`` or the shipped ``models/default`` next to the package."""
    from nps_nlp._settings import get_settings

    configured = get_settings().model
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "models" / "default"


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def _parse_columns(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected OURS=THEIRS (e.g. text=comment), got {item!r}")
        ours, theirs = item.split("=", 1)
        out[ours.strip()] = theirs.strip()
    return out


@app.command()
def classify(
    input: Annotated[str, typer.Argument(help="An answer text, or a CSV/JSONL/Parquet file of answers.")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="json: one object per answer, in input order.")
    ] = OutputFormat.table,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: NPS_MODEL or models/default).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the answer text in a file.")] = None,
    lang: Annotated[str | None, typer.Option(help="Language hint for every answer (nl, nb, nn, en).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Answers per batch.")] = 64,
) -> None:
    """Classify one answer or a file of answers and print the results."""
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples

    path = Path(input)
    try:
        model_dir = model or default_model_path()
        clf = FeedbackClassifier.load(model_dir)
        if path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".pq") and path.is_file():
            examples = load_examples(path, columns={"text": text_column} if text_column else None)
            texts, ids = [e.text for e in examples], [e.id for e in examples]
        elif path.suffix and path.suffix.lower() in (".csv", ".jsonl", ".parquet") and not path.exists():
            raise NpsNlpError(f"file {path} does not exist")
        else:
            texts, ids = [input], ["1"]
        results: list[Any] = []
        progress = None
        if len(texts) > batch_size:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(texts), desc="classifying", unit="answer", file=sys.stderr)
        for start in range(0, len(texts), batch_size):
            results += clf.predict(texts[start : start + batch_size], lang=lang)
            if progress:
                progress.update(min(batch_size, len(texts) - start))
        if progress:
            progress.close()
    except NpsNlpError as exc:
        _fail(exc)
        return
    if format is OutputFormat.json:
        for id_, result in zip(ids, results, strict=True):
            sys.stdout.write(json.dumps({"id": id_, **result.to_dict()}, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(results)} answer(s) - model {model_dir}", show_lines=False)
    for col in ("id", "lang", "sentiment", "themes (sentiment, confidence)", "answer"):
        table.add_column(col, overflow="fold")
    colour = {"negative": "red", "neutral": "yellow", "positive": "green"}
    for id_, r in zip(ids, results, strict=True):
        themes = "\n".join(f"[{colour[t.sentiment]}]{t.theme}[/] {t.sentiment} {t.confidence:.2f}"
                           + (" (zero-shot)" if t.source == "zero-shot" else "") for t in r.themes) or "-"
        table.add_row(id_, r.lang, f"[{colour[r.sentiment]}]{r.sentiment}[/] {r.sentiment_score:+.2f}", themes,
                      r.text if len(r.text) < 160 else r.text[:157] + "...")
    Console().print(table)


@app.command()
def train(
    data: Annotated[str | None, typer.Option(help="Training data file or directory.")] = None,
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    output: Annotated[str | None, typer.Option(help="Model directory to write.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML/YAML config; options given here override it.")] = None,
    dev_data: Annotated[str | None, typer.Option(help="Evaluation data for the model card.")] = None,
    dev_fraction: Annotated[float | None, typer.Option(help="Hold out this share of --data for the model card.")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    taxonomy: Annotated[str | None, typer.Option(help="Taxonomy YAML.")] = None,
    encoder: Annotated[str | None, typer.Option(help="Encoder name or sentence-transformers path.")] = None,
    finetune_layers: Annotated[int | None, typer.Option(help="Also train the top N encoder layers.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Keep only this language (repeatable).")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """Train a model on labelled answers (project format or an external dataset)."""
    from training import TrainingArguments
    from training import train as run_training

    try:
        args = TrainingArguments.from_file(
            config, data=data, format=format, output=output, dev_data=dev_data, dev_fraction=dev_fraction,
            label_map=label_map, taxonomy=taxonomy, encoder=encoder, finetune_layers=finetune_layers,
            epochs=epochs, languages=language or None, columns=_parse_columns(column) or None, seed=seed,
        )
        result = run_training(args)
    except NpsNlpError as exc:
        _fail(exc)
        return
    err.print(f"[green]model written to {result['output']}[/] in {result['seconds']} s")
    if result["metrics"]:
        _print_metrics(result["metrics"])


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="Model directory.")],
    data: Annotated[str, typer.Option(help="Labelled data file or directory.")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    output: Annotated[Path | None, typer.Option(help="Write the metrics JSON here.")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Keep only this language (repeatable).")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
) -> None:
    """Evaluate a model: per-language and per-label precision/recall/F1 (micro and macro)."""
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples
    from training import evaluate_examples

    try:
        clf = FeedbackClassifier.load(model)
        examples = load_examples(data, format=format, columns=_parse_columns(column) or None, label_map=label_map)
        if language:
            examples = [e for e in examples if e.lang in set(language)]
        metrics = evaluate_examples(clf, examples)
    except NpsNlpError as exc:
        _fail(exc)
        return
    _print_metrics(metrics)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"metrics written to {output}")


def _print_metrics(metrics: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]micro-F1 {metrics.get('micro_f1', '-')}  macro-F1 {metrics.get('macro_f1', '-')}[/]"
                  f"  ({metrics['n_examples']} examples)")
    if "theme_polarity" in metrics:
        console.print(f"per-theme polarity given gold themes: {metrics['theme_polarity']['accuracy']} "
                      f"(n={metrics['theme_polarity']['n']})")
    lang_table = Table(title="per language")
    for col in ("lang", "n", "micro P", "micro R", "micro F1", "macro P", "macro R", "macro F1", "sentiment acc.",
                "language-ID acc."):
        lang_table.add_column(col)
    for lang, block in metrics["per_language"].items():
        t = block.get("themes", {})
        micro, macro = t.get("micro", {}), t.get("macro", {})
        prf = [str(d.get(k, "-")) for d in (micro, macro) for k in ("precision", "recall", "f1")]
        lang_table.add_row(lang, str(t.get("n", "-")), *prf,
                           str(block.get("sentiment_accuracy", "-")), str(block.get("language_id_accuracy", "-")))
    console.print(lang_table)
    for key, title in (("themes", "per theme"), ("sentiment", "per sentiment class")):
        if key not in metrics:
            continue
        table = Table(title=title)
        for col in ("label", "precision", "recall", "F1", "support"):
            table.add_column(col)
        for label, v in metrics[key]["per_label"].items():
            table.add_row(label, str(v["precision"]), str(v["recall"]), str(v["f1"]), str(v["support"]))
        console.print(table)
    if "nps_bands" in metrics:
        table = Table(title="predicted sentiment by NPS band")
        for col in ("band", "n", "negative", "neutral", "positive", "neg. or neutral"):
            table.add_column(col)
        for band, v in metrics["nps_bands"].items():
            table.add_row(band, str(v["n"]), str(v["negative"]), str(v["neutral"]), str(v["positive"]),
                          str(v["share_negative_or_neutral"]))
        console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()

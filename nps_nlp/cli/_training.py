"""``nps-nlp train`` and ``nps-nlp evaluate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.cli._app import FORMAT_HELP, _fail, _parse_columns, app, err
from nps_nlp.errors import NpsNlpError


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

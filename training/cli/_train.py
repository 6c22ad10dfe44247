"""``nps-nlp train``, ``nps-nlp evaluate``, ``nps-nlp refit-urgency`` and ``nps-nlp compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.cli.common import FORMAT_HELP, OutputFormat, app, err, fail, parse_columns
from nps_nlp.errors import NpsNlpError


@app.command()
def train(
    config_file: Annotated[Path | None, typer.Argument(
        metavar="[CONFIG]", help="TOML/YAML config with data, model, train and output sections (see docs/analyst-training.md).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value: section.key=value (repeatable), e.g. --set train.epochs=10 "
                      "--set data.columns.text=comment.")] = None,
    data: Annotated[str | None, typer.Option(help="Training data file or directory (data.path).")] = None,
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    output: Annotated[str | None, typer.Option(help="Run directory to write (output.path); the model is "
                                                    "OUTPUT/model-best.")] = None,
    config: Annotated[Path | None, typer.Option(help="Config file (same as CONFIG).")] = None,
    dev_data: Annotated[str | None, typer.Option(help="Evaluation data (data.dev_path).")] = None,
    dev_fraction: Annotated[float | None, typer.Option(help="Hold out this share of --data for evaluation.")] = None,
    unlabelled: Annotated[str | None, typer.Option(
        help="Unlabelled answers (same format and columns as --data): self-training, for few labels per theme "
             "(data.unlabelled_path).")] = None,
    translate: Annotated[list[str] | None, typer.Option(
        "--translate", help="Also train on word-by-word translations of the answers: a dictionary SRC-TGT (shipped "
                            "en-nl, en-nb, en-nn) or a SRC-TGT.tsv file (repeatable; data.translate).")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    taxonomy: Annotated[str | None, typer.Option(help="Taxonomy YAML.")] = None,
    encoder: Annotated[str | None, typer.Option(help="Encoder name or sentence-transformers path.")] = None,
    finetune_layers: Annotated[int | None, typer.Option(help="Also train the top N encoder layers.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Keep only this language (repeatable).")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option(
        help="Train on cpu, cuda (cuda:N) or auto (train.device); the saved model serves on a CPU either way.")] = None,
    drop_invalid: Annotated[bool, typer.Option(
        "--drop-invalid", help="Drop invalid rows (and too-rare themes) and report them, instead of stopping.")] = False,
    register: Annotated[bool, typer.Option("--register", help="Register model-best in the model registry.")] = False,
    registry: Annotated[Path | None, typer.Option(help="Registry directory (default NPS_REGISTRY_DIR).")] = None,
    model_id: Annotated[str | None, typer.Option("--id", help="Registry id for --register.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Validate labelled answers, train a model and write OUTPUT/model-best, model-last, config.toml, metrics.json.

    Examples:

        nps-nlp train my.toml --set train.epochs=10 --set data.path=more.csv

        nps-nlp train --data labelled.csv --output models/run1 --column text=comment

        nps-nlp train --data english.csv --output models/run2 --translate en-nl --translate en-nb
    """
    from training import TrainingArguments
    from training import train as run_training
    from training.validate import TrainingDataError

    if config_file is not None and config is not None:
        fail(NpsNlpError("give the config once: as CONFIG or as --config, not both"))
    try:
        args = TrainingArguments.from_file(
            config_file or config, overrides=set_ or (),
            data=data, format=format, output=output, dev_data=dev_data, dev_fraction=dev_fraction,
            unlabelled_data=unlabelled, translate=translate or None,
            label_map=label_map, taxonomy=taxonomy, encoder=encoder, finetune_layers=finetune_layers,
            epochs=epochs, languages=language or None, columns=parse_columns(column) or None, seed=seed,
            device=device,
            drop_invalid=drop_invalid or None, register=register or None,
            registry=str(registry) if registry else None, model_id=model_id,
        )
        result = run_training(args, show_progress_bar=not quiet)
    except TrainingDataError as exc:
        _print_problems(exc.report.problems, title=str(exc).split("\n")[0])
        raise typer.Exit(code=2) from None
    except NpsNlpError as exc:
        fail(exc)
        return
    _print_result(result)


def _print_result(result: dict[str, Any]) -> None:
    """What a training run dropped, noticed and hints at, where it wrote the model, and its dev metrics."""
    for role, report in result["validation"].items():
        if report["dropped"]:
            from training.validate import Problem

            _print_problems([Problem(**p) for p in report["dropped"]],
                            title=f"{role} data: dropped {len(report['dropped'])} problem(s) (--drop-invalid)")
        for notice in report["notices"]:
            err.print(f"[yellow]note:[/] {notice}")
    for hint in result["hints"]:
        err.print(f"[yellow]hint:[/] {hint}")
    err.print(f"[green]model written to {result['model_best']}[/] (run directory {result['output']}) "
              f"in {result['seconds']} s")
    if result.get("registered"):
        reg = result["registered"]
        err.print(f"registered as [bold]{reg['id']}[/] in {reg['registry']}; make it active with "
                  f"nps-nlp models promote {reg['id']}")
    if result["metrics"]:
        _print_metrics(result["metrics"])


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="Model directory (or a training run directory: its model-best).")],
    data: Annotated[str, typer.Option(help="Labelled data file or directory.")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    output: Annotated[Path | None, typer.Option(help="Write the metrics JSON here.")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Keep only this language (repeatable).")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
) -> None:
    """Evaluate a model: per-language and per-theme P/R/F1, confusion between themes, calibration (ECE)."""
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples
    from training import best_model_dir, evaluate_examples

    try:
        clf = FeedbackClassifier.load(best_model_dir(model))
        examples = load_examples(data, format=format, columns=parse_columns(column) or None, label_map=label_map)
        if language:
            examples = [e for e in examples if e.lang in set(language)]
        metrics = evaluate_examples(clf, examples)
    except NpsNlpError as exc:
        fail(exc)
        return
    _print_metrics(metrics)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"metrics written to {output}")


@app.command("refit-urgency")
def refit_urgency(
    model: Annotated[Path, typer.Argument(help="Model directory (or a training run directory: its model-best).")],
    data: Annotated[str, typer.Option(help="Labelled answers with an 'urgency' (none/high/critical) or 'urgent' "
                                           "column, e.g. data/seed/train.jsonl.")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    output: Annotated[Path | None, typer.Option(help="Write a refitted copy here instead of changing MODEL.")] = None,
    precision: Annotated[float, typer.Option(min=0.5, max=0.99, help="Precision the model's own critical and alert "
                                             "calls must reach out of fold; lower means more recall and more "
                                             "false alerts.")] = 0.95,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Refit only the model's learned urgency reading on labelled answers, without retraining the classifier:
    writes urgency_model.json and the urgency entry of config.json; every other file stays as it is.

    Example:

        nps-nlp refit-urgency models/default --data data/seed/train.jsonl
    """
    from training.refit_urgency import refit_urgency as run_refit

    try:
        result = run_refit(model, data, output=output, format=format, precision=precision,
                           show_progress_bar=not quiet)
    except NpsNlpError as exc:
        fail(exc)
        return
    err.print(f"[green]urgency model refitted[/] in {result['model']} on {json.dumps(result['n_examples'])}; "
              f"precision {result['precision']}; thresholds: critical {result['critical_threshold']:.2f}, "
              f"alert {result['alert_threshold']:.2f}")


@app.command()
def compare(
    model_a: Annotated[Path, typer.Argument(help="Model A (the current one): model or training run directory.")],
    model_b: Annotated[Path, typer.Argument(help="Model B (the candidate).")],
    data: Annotated[str, typer.Argument(help="Labelled data both models are scored on (not their training data).")],
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    n_boot: Annotated[int, typer.Option(min=100, help="Bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    output: Annotated[Path | None, typer.Option(help="Write the comparison JSON here.")] = None,
    label_map: Annotated[str | None, typer.Option(help="YAML label mapping or shipped mapping name.")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="Keep only this language (repeatable).")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="Column mapping OURS=THEIRS (repeatable).")] = None,
    out_format: Annotated[OutputFormat, typer.Option("--output-format", help="table or json (stdout).")] = OutputFormat.table,
) -> None:
    """Is B better than A? Paired bootstrap 95% intervals of the micro- and macro-F1 difference (B - A)."""
    from training import compare_models

    try:
        result = compare_models(model_a, model_b, data, format=format, columns=parse_columns(column) or None,
                                label_map=label_map, languages=language or (), n_boot=n_boot, seed=seed)
    except NpsNlpError as exc:
        fail(exc)
        return
    if out_format is OutputFormat.json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        console = Console()
        table = Table(title=f"B - A on {result['overall']['n']} answers ({result['target']}), "
                            f"{n_boot} paired bootstrap replicates")
        for col in ("slice", "metric", "A", "B", "B - A", "95% CI", "P(B > A)"):
            table.add_column(col)
        rows = [("all", result["overall"])] + list(result["per_language"].items())
        for name, block in rows:
            for metric in ("micro_f1", "macro_f1"):
                m = block[metric]
                table.add_row(f"{name} (n={block['n']})" if metric == "micro_f1" else "", metric.replace("_", "-"),
                              f"{m['a']:.3f}", f"{m['b']:.3f}", f"{m['diff']:+.3f}",
                              f"[{m['ci_low']:+.3f}, {m['ci_high']:+.3f}]" + (" *" if m["significant"] else ""),
                              f"{m['p_b_better']:.2f}")
        console.print(table)
        console.print(f"A = {model_a}\nB = {model_b}")
        console.print(f"[bold]{result['verdict']}[/]")
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"comparison written to {output}")


def _print_problems(problems: list[Any], *, title: str) -> None:
    table = Table(title=title, title_justify="left", show_lines=True)
    for col, width in (("where", 22), ("kind", 14), ("problem", 50), ("fix", 50)):
        table.add_column(col, overflow="fold", max_width=width)
    for p in problems[:200]:
        table.add_row(p.where, p.kind, p.message, p.fix)
    err.print(table)
    if len(problems) > 200:
        err.print(f"... and {len(problems) - 200} more")


def _print_metrics(metrics: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]micro-F1 {metrics.get('micro_f1', '-')}  macro-F1 {metrics.get('macro_f1', '-')}[/]"
                  f"  ({metrics['n_examples']} examples)")
    if "theme_polarity" in metrics:
        polarity = metrics["theme_polarity"]
        console.print(f"per-theme polarity given gold themes: {polarity['accuracy']} (whole answer only: "
                      f"{polarity.get('answer_level_accuracy', '-')}; n={polarity['n']})")
    calibration = metrics.get("calibration", {})
    if calibration:
        names = {"theme_confidence": "predicted-theme confidence", "theme_probability": "theme probabilities",
                 "sentiment": "overall sentiment"}
        console.print("expected calibration error: " + ", ".join(
            f"{names.get(k, k)} {v['ece']} (n={v['n']})" for k, v in calibration.items()))
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
    confusion = {k: v for k, v in metrics.get("theme_confusion", {}).items() if v["missed"] or v["false_positives"]}
    if confusion:
        table = Table(title="confusion between themes (answers)")
        for col in ("gold theme", "support", "missed", "predicted instead", "nothing predicted", "false pos.",
                    "false pos. on answers about"):
            table.add_column(col, overflow="fold")
        for label, v in confusion.items():
            table.add_row(label, str(v["support"]), str(v["missed"]),
                          ", ".join(f"{k} {n}" for k, n in list(v["predicted_instead"].items())[:3]) or "-",
                          str(v["nothing_predicted"]), str(v["false_positives"]),
                          ", ".join(f"{k} {n}" for k, n in list(v["false_positive_with"].items())[:3]) or "-")
        console.print(table)
    if "nps_bands" in metrics:
        table = Table(title="predicted sentiment by NPS band")
        for col in ("band", "n", "negative", "neutral", "positive", "neg. or neutral"):
            table.add_column(col)
        for band, v in metrics["nps_bands"].items():
            table.add_row(band, str(v["n"]), str(v["negative"]), str(v["neutral"]), str(v["positive"]),
                          str(v["share_negative_or_neutral"]))
        console.print(table)

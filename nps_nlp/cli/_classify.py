"""``nps-nlp classify``: one answer or a file of answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nps_nlp.cli.common import OutputFormat, app, default_model_path, fail
from nps_nlp.errors import NpsNlpError


@app.command()
def classify(
    input: Annotated[str, typer.Argument(help="An answer text, or a CSV/JSONL/Parquet file of answers.")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="json: one object per answer, in input order.")
    ] = OutputFormat.table,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: NPS_MODEL or models/default).")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the answer text in a file.")] = None,
    lang: Annotated[str | None, typer.Option(help="Language hint for every answer (nl, nb, nn, en).")] = None,
    score: Annotated[int | None, typer.Option(min=0, max=10, help="The NPS score (0-10) of a single answer text; a "
                                              "file's answers use its score column.")] = None,
    score_column: Annotated[str | None, typer.Option(help="Column holding the 0-10 score in a file (default: score).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Answers per batch.")] = 64,
) -> None:
    """Classify one answer or a file of answers and print the results (read with their NPS scores where given)."""
    from nps_nlp.classifier import FeedbackClassifier
    from nps_nlp.datasets import load_examples

    path = Path(input)
    try:
        model_dir = model or default_model_path()
        clf = FeedbackClassifier.load(model_dir)
        if path.suffix.lower() in (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".pq") and path.is_file():
            columns = {k: v for k, v in (("text", text_column), ("score", score_column)) if v}
            examples = load_examples(path, columns=columns or None)
            texts, ids, scores = [e.text for e in examples], [e.id for e in examples], [e.score for e in examples]
        elif path.suffix and path.suffix.lower() in (".csv", ".jsonl", ".parquet") and not path.exists():
            raise NpsNlpError(f"file {path} does not exist")
        else:
            texts, ids, scores = [input], ["1"], [score]
        results: list[Any] = []
        progress = None
        if len(texts) > batch_size:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(texts), desc="classifying", unit="answer", file=sys.stderr)
        for start in range(0, len(texts), batch_size):
            results += clf.predict(texts[start : start + batch_size], lang=lang, scores=scores[start : start + batch_size])
            if progress:
                progress.update(min(batch_size, len(texts) - start))
        if progress:
            progress.close()
    except NpsNlpError as exc:
        fail(exc)
        return
    if format is OutputFormat.json:
        for id_, result, nps_score in zip(ids, results, scores, strict=True):
            sys.stdout.write(json.dumps({"id": id_, "score": nps_score, **result.to_dict()}, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(results)} answer(s) - model {model_dir}", show_lines=False)
    for col in ("id", "score", "lang", "sentiment", "themes (sentiment, confidence)", "answer"):
        table.add_column(col, overflow="fold")
    colour = {"negative": "red", "neutral": "yellow", "positive": "green"}
    for id_, r, nps_score in zip(ids, results, scores, strict=True):
        themes = "\n".join(f"[{colour[t.sentiment]}]{t.theme}[/] {t.sentiment} {t.confidence:.2f}"
                           + (" (zero-shot)" if t.source == "zero-shot" else "") for t in r.themes) or "-"
        table.add_row(id_, "-" if nps_score is None else str(nps_score),
                      r.lang, f"[{colour[r.sentiment]}]{r.sentiment}[/] {r.sentiment_score:+.2f}", themes,
                      r.text if len(r.text) < 160 else r.text[:157] + "...")
    Console().print(table)

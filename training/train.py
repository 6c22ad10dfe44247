"""``train``: the plain function behind ``nps-nlp train``."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from nps_nlp import FeedbackClassifier
from nps_nlp.datasets import Example, load_examples, train_dev_split
from nps_nlp.errors import DataValidationError
from training.config import TrainingArguments
from training.evaluate import evaluate_examples
from training.model_card import render_model_card


def fingerprint(path: str | Path) -> str:
    """sha256 of a data file (or of every file below a directory), first 16 hex digits."""
    digest = hashlib.sha256()
    path = Path(path)
    for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if item.is_file():
            digest.update(item.name.encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()[:16]


def _load(args: TrainingArguments, path: str) -> list[Example]:
    examples = load_examples(path, format=args.format, columns=args.columns or None, label_map=args.label_map)
    if args.languages:
        examples = [e for e in examples if e.lang in set(args.languages)]
    return examples


def train(args: TrainingArguments, *, show_progress_bar: bool = True) -> dict[str, Any]:
    """Train a model and write it to ``args.output`` with its config, metrics and model card.

    The model is written to a temporary sibling directory and moved into place at the end, so a failed
    run never leaves a half-written model where a working one was.

    Returns:
        ``{"output": path, "metrics": ..., "seconds": ...}``.

    Raises:
        DataValidationError: the data has nothing to train on (checked before any compute).
    """
    started = time.perf_counter()
    examples = _load(args, args.data)
    if args.dev_data:
        train_set, dev_set = examples, _load(args, args.dev_data)
    elif args.dev_fraction > 0:
        train_set, dev_set = train_dev_split(examples, args.dev_fraction, seed=args.seed)
    else:
        train_set, dev_set = examples, []
    if not train_set:
        raise DataValidationError(f"no training examples in {args.data}"
                                  + (f" for languages {args.languages}" if args.languages else ""))
    clf = FeedbackClassifier(
        encoder=args.encoder, taxonomy=args.taxonomy, finetune_layers=args.finetune_layers, epochs=args.epochs,
        learning_rate=args.learning_rate, batch_size=args.batch_size, max_length=args.max_length,
        validation_fraction=args.validation_fraction, random_state=args.seed, show_progress_bar=show_progress_bar,
    )
    clf.fit([e.text for e in train_set], [e.themes for e in train_set], sentiment=[e.sentiment for e in train_set])
    train_seconds = time.perf_counter() - started
    metrics = evaluate_examples(clf, dev_set) if dev_set else None
    output = Path(args.output)
    tmp = output.with_name(f".{output.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    meta = {"training_arguments": args.to_dict(), "data_fingerprint": fingerprint(args.data),
            "train_seconds": round(train_seconds, 1), "name": output.name}
    clf.save(tmp, metadata=meta)
    if metrics is not None:
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    (tmp / "README.md").write_text(render_model_card(config, metrics), encoding="utf-8")
    if output.exists():
        shutil.rmtree(output)
    tmp.rename(output)
    return {"output": str(output), "metrics": metrics, "seconds": round(time.perf_counter() - started, 1)}

"""Refit only the learned urgency reading of an existing model directory.

Urgency labels grow faster than theme labels: a CX team that writes or collects more urgent and calm answers
wants the model's learned urgency reading (:class:`nps_nlp.urgency_model.UrgencyModel`) refitted on them without
retraining the classifier, whose themes, polarities and score fusion would all move. :func:`refit_urgency` loads
the model, fits a new urgency model on the labelled answers exactly as training does (``_fit_urgency``: answers
with an ``urgency`` level, and answers marked ``urgent = false`` as ``none``), and writes ``urgency_model.json``
plus the ``urgency_model`` entry of ``config.json``; every other file of the directory is left byte for byte.

Example:
    >>> refit_urgency("models/default", "data/seed/train.jsonl")                      # doctest: +SKIP
    {'model': 'models/default', 'n_examples': {'none': ..., 'high': ..., 'critical': ...}, ...}
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from nps_nlp.errors import DataValidationError

__all__ = ["refit_urgency"]


def refit_urgency(model: str | Path, data: str | Path, *, output: str | Path | None = None,
                  format: str | None = None, precision: float | None = None,  # noqa: A002
                  show_progress_bar: bool = False) -> dict[str, Any]:
    """Fit a new urgency model for ``model`` on the labelled answers of ``data`` and save it.

    Args:
        model: a model directory (or a training run, whose ``model-best`` is used).
        data: labelled answers in the project's format (``urgency`` column, or ``urgent``), e.g. the train split.
        output: write the result to this new directory (a copy of ``model``) instead of changing ``model``.
        format: the data's format when its file name does not tell it.
        precision: the precision the model's own ``critical`` and alert calls must reach on out-of-fold
            predictions (default 0.95): lower it for more recall and more false alerts.
        show_progress_bar: show the encoder's progress while it reads the answers.

    Returns:
        what was written: the model directory, the data, the answers per level and the two thresholds.

    Raises:
        DataValidationError: ``data`` has fewer than 20 answers labelled high or critical, or ``output`` exists.
    """
    from nps_nlp import FeedbackClassifier
    from nps_nlp.datasets import load_examples
    from nps_nlp.model_dir import resolve_model_dir
    from training.train import _fit_urgency

    source = resolve_model_dir(model)
    target = source
    if output is not None:
        target = Path(output)
        if target.exists():
            raise DataValidationError(f"refit urgency: {target} already exists; name a new directory")
        shutil.copytree(source, target)
    examples = load_examples(data, format)
    clf = FeedbackClassifier.load(target)
    clf.show_progress_bar = show_progress_bar
    clf.urgency_model_ = None
    if precision is not None and not 0.5 <= precision < 1.0:
        raise DataValidationError(f"refit urgency: precision {precision} must be at least 0.5 and below 1")
    summary = _fit_urgency(clf, examples, precision)
    if summary is None:
        if output is not None:
            shutil.rmtree(target, ignore_errors=True)
        raise DataValidationError(f"refit urgency: {data} has too few answers labelled high or critical "
                                  "(an 'urgency' column with none/high/critical, at least 20 urgent)")
    _write(target, clf.urgency_model_.to_dict(), summary)
    return {"model": str(target), "data": str(data), **summary}


def _write(path: Path, urgency: dict[str, Any], summary: dict[str, Any]) -> None:
    """Replace ``urgency_model.json`` and the ``urgency_model`` entry of ``config.json`` (written the way
    :func:`nps_nlp._classifier.persistence.save_model` writes them), each through a temporary file."""
    from nps_nlp._classifier.persistence import CONFIG, URGENCY_MODEL

    config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    config["urgency_model"] = summary
    for name, text in ((URGENCY_MODEL, json.dumps(urgency)),
                       (CONFIG, json.dumps(config, indent=2, ensure_ascii=False))):
        tmp = path / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path / name)

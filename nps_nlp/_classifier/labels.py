"""Training data in: checked labels, the model's themes (taxonomy, trained and zero-shot) and the training targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_nlp._network import POLARITIES
from nps_nlp.errors import DataValidationError
from nps_nlp.taxonomy import Taxonomy, Theme, load_taxonomy

__all__ = ["LabelSpace", "TrainingData", "check_training_data", "resolve_taxonomy", "targets"]

ThemeLabels = dict[str, str | None] | Sequence[str] | None


@dataclass
class LabelSpace:
    """What a model can say, fixed by its training data.

    Attributes:
        taxonomy: the model's taxonomy.
        labels: the trained themes, in taxonomy order.
        zero_shot_labels: the taxonomy's other themes that have descriptions to match (when zero-shot is on).
        has_sentiment: whether any answer has an overall or a per-theme polarity label.
    """

    taxonomy: Taxonomy
    labels: list[str]
    zero_shot_labels: list[str]
    has_sentiment: bool


@dataclass
class TrainingData:
    """Checked training data: per answer its text, its themes (``{theme: polarity or None}``, or ``None`` when it
    has no theme labels) and its overall sentiment (or ``None``)."""

    texts: list[str]
    themes: list[dict | None]
    sentiments: list[str | None]


def _theme_problems(y: Any, n: int) -> tuple[list[dict | None], list[str]]:
    """The theme labels as ``{theme: polarity or None}`` per answer, and what is wrong with them."""
    problems: list[str] = []
    themes: list[dict | None] = []
    for i, labels in enumerate(y if y is not None else [None] * n):
        if labels is None:
            themes.append(None)
            continue
        if isinstance(labels, str):
            labels = [labels]
        mapping = dict(labels) if isinstance(labels, dict) else {label: None for label in labels}
        for label, polarity in mapping.items():
            if polarity is not None and polarity not in POLARITIES:
                problems.append(f"row {i}: theme {label!r} has polarity {polarity!r}; "
                                f"expected one of {', '.join(POLARITIES)} or null")
        themes.append(mapping)
    return themes, problems


def check_training_data(X: Any, y: Any, sentiment: Any, taxonomy: Taxonomy | str | Any, zero_shot: bool
                        ) -> tuple[TrainingData, LabelSpace]:
    """Check training data before any compute and fix the model's themes.

    Args:
        X: answers.
        y: per answer its themes (a dict ``{theme: polarity or None}``, a list of ids, or ``None``).
        sentiment: per answer its overall sentiment, or ``None``.
        taxonomy: the classifier's ``taxonomy`` setting (see :func:`resolve_taxonomy`).
        zero_shot: match the taxonomy's themes without examples by their descriptions.

    Raises:
        DataValidationError: every problem found (lengths, empty texts, unknown themes or polarities, no labels).
    """
    if isinstance(X, str):
        raise DataValidationError("X must be a list of answers, not one string; wrap it: [text]")
    texts = list(X)
    if y is not None and len(y) != len(texts):
        raise DataValidationError(f"X has {len(texts)} answers but y has {len(y)} labels; they must align")
    if sentiment is not None and len(sentiment) != len(texts):
        raise DataValidationError(
            f"X has {len(texts)} answers but sentiment has {len(sentiment)} labels; they must align")
    problems = [f"row {i}: empty or non-text answer {text!r}; drop it or fill it in"
                for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    themes, theme_problems = _theme_problems(y, len(texts))
    problems += theme_problems
    sentiments = list(sentiment) if sentiment is not None else [None] * len(texts)
    for i, value in enumerate(sentiments):
        if value is not None and value not in POLARITIES:
            problems.append(f"row {i}: sentiment {value!r}; expected one of {', '.join(POLARITIES)} or null")
    label_set = sorted({label for t in themes if t for label in t})
    resolved = resolve_taxonomy(taxonomy, label_set)
    unknown = [label for label in label_set if label not in resolved]
    if unknown:
        problems.append(f"themes not in taxonomy {resolved.name!r}: {', '.join(unknown)}; add them to the "
                        "taxonomy file or fix the labels")
    if not label_set and all(t is None for t in themes) and all(s is None for s in sentiments):
        problems.append("no labels at all: give themes (y) and/or overall sentiment")
    if problems:
        raise DataValidationError(f"cannot train on this data ({len(problems)} problem(s)):", problems)
    space = LabelSpace(
        taxonomy=resolved,
        labels=[t for t in resolved.ids if t in set(label_set)],
        zero_shot_labels=[t.id for t in resolved.themes if t.id not in set(label_set) and zero_shot and t.prototypes()],
        has_sentiment=any(s is not None for s in sentiments) or any(
            t and any(p is not None for p in t.values()) for t in themes),
    )
    return TrainingData(texts, themes, sentiments), space


def resolve_taxonomy(taxonomy: Taxonomy | str | Any, labels: list[str]) -> Taxonomy:
    """The model's taxonomy: the one given (a :class:`Taxonomy` or a YAML path); else the generic taxonomy
    (all of it for sentiment-only data, else only the trained themes) when every label belongs to it; else a
    taxonomy made of the training labels."""
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    if taxonomy is not None:
        return load_taxonomy(taxonomy)
    default = load_taxonomy()
    if not labels:  # sentiment only: every generic theme is matched zero-shot
        return default
    if all(label in default for label in labels):
        # exactly the trained themes: the generic taxonomy's others are zero-shot only when asked for
        # (``taxonomy=load_taxonomy()``, training's ``model.zero_shot_default_themes``)
        return default.subset(labels)
    # a foreign label set (a dataset's own categories): a taxonomy of exactly those labels
    return Taxonomy("from-labels", tuple(Theme(label, {"en": label}) for label in labels))


def targets(themes: list[dict | None], sentiments: list[str | None], labels: list[str]) -> dict[str, np.ndarray]:
    """The training targets: ``detect`` ``[n, k]`` (0/1), ``polarity`` ``[n, k]`` and ``sentiment`` ``[n]`` (class
    index, -100 where unknown) and ``has_themes`` ``[n]`` (whether the answer has theme labels at all). An answer
    without an overall label whose themes agree on one polarity gets that polarity."""
    n, n_labels = len(themes), len(labels)
    index = {label: j for j, label in enumerate(labels)}
    detect = np.zeros((n, n_labels), dtype=np.float32)
    polarity = np.full((n, n_labels), -100, dtype=np.int64)
    overall = np.full(n, -100, dtype=np.int64)
    has_themes = np.array([t is not None for t in themes])
    for i, mapping in enumerate(themes):
        for label, pol in (mapping or {}).items():
            detect[i, index[label]] = 1.0
            if pol is not None:
                polarity[i, index[label]] = POLARITIES.index(pol)
        value = sentiments[i]
        if value is None and mapping:
            known = {p for p in mapping.values() if p is not None}
            value = known.pop() if len(known) == 1 else None
        if value is not None:
            overall[i] = POLARITIES.index(value)
    return {"detect": detect, "polarity": polarity, "sentiment": overall, "has_themes": has_themes}

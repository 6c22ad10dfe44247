"""Self-training: the labelled answers plus the unlabelled answers the model is sure about.

Analysts have far more answers than labels. With few labels per theme, a model trained on the labelled
answers tags the unlabelled ones; those where every theme is clearly on or clearly off (at least ``margin``
away from that theme's threshold) join the training data with the themes found (no polarity, no overall
sentiment: the model keeps learning those from real labels only), and the model is trained again on both.
The pseudo-labelled answers follow the theme mix of the real data instead of the labelled sample's even spread
per theme. That mix is not what limits a few-shot model most, though: even the true theme frequencies lift it
little (docs/analyst-training.md), and the gain measured here is small in English and none in Dutch.

The same step carries labels across languages: English labels plus unlabelled Dutch answers lift a fine-tuned
model on Dutch (the encoder adapts to the pseudo-labelled language; a frozen one gains nothing there).

Measured on SemEval-2016 dev (``benchmarks/accuracy.py fewshot --self-train``, ``benchmarks/accuracy.py
crosslingual``): see docs/analyst-training.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nps_nlp import FeedbackClassifier
from nps_nlp.errors import DataValidationError

#: default distance from every theme's threshold that makes a pseudo-label sure enough
DEFAULT_MARGIN = 0.1


def pseudo_label(classifier: FeedbackClassifier, texts: Sequence[str], *, margin: float = DEFAULT_MARGIN
                 ) -> tuple[list[int], list[dict[str, None]]]:
    """Themes of the answers a fitted classifier is sure about.

    Args:
        classifier: a fitted classifier.
        texts: unlabelled answers.
        margin: an answer is kept when each theme's probability is at least this far from the theme's threshold.

    Returns:
        ``(indices, themes)``: positions in ``texts`` of the kept answers and, per kept answer, ``{theme: None}``
        for the themes above their thresholds (``{}``: sure that no theme applies).
    """
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    if not len(texts):
        return [], []
    proba = np.atleast_2d(classifier.predict_proba(list(texts)))
    labels = list(classifier.labels_)
    thresholds = np.array([classifier.thresholds_.get(label, 0.5) for label in labels])
    sure = np.all(np.abs(proba - thresholds) >= margin, axis=1)
    indices = [int(i) for i in np.flatnonzero(sure)]
    return indices, [{labels[j]: None for j in np.flatnonzero(proba[i] >= thresholds)} for i in indices]


def weak_sentiment(result: Any, score: float | None) -> str | None:
    """The NPS score as a weak sentiment label, kept only where the text leans the same way: ``positive`` for a
    promoter (9-10) whose answer does not read negative, ``negative`` for a 0-4 whose answer does not read
    positive, else ``None`` (passives, 5-6 and answers whose text and score disagree teach nothing sure)."""
    if score is None or not result.text.strip():
        return None
    if score >= 9 and result.sentiment_score >= 0:
        return "positive"
    if score <= 4 and result.sentiment_score <= 0:
        return "negative"
    return None


def unlabelled_pool(unlabelled: Sequence[str], labelled: Sequence[str]) -> list[str]:
    """The unlabelled answers worth pseudo-labelling: not empty, not labelled already, each once (in order)."""
    skip = set(labelled)
    return list(dict.fromkeys(t for t in unlabelled if t and t.strip() and t not in skip))


def self_train(
    classifier: FeedbackClassifier,
    texts: Sequence[str],
    themes: Sequence[Any],
    unlabelled: Sequence[str],
    *,
    sentiment: Sequence[str | None] | None = None,
    groups: Sequence[str] | None = None,
    margin: float = DEFAULT_MARGIN,
    rounds: int = 1,
    on_round: Callable[[int, FeedbackClassifier, int], None] | None = None,
    scores: Sequence[float | None] | None = None,
) -> tuple[FeedbackClassifier, dict[str, Any]]:
    """Fit ``classifier`` on the labelled answers, pseudo-label ``unlabelled``, fit a fresh copy on both.

    Args:
        classifier: an unfitted classifier with the settings to use (fitted here on the labelled answers).
        texts, themes, sentiment, groups: the labelled answers, as for :meth:`FeedbackClassifier.fit`.
        unlabelled: answers without labels (empty ones, and ones that are also labelled, are skipped).
        margin: see :func:`pseudo_label`.
        rounds: how often to pseudo-label (with the latest model) and fit a fresh copy; each round costs one fit.
        on_round: called after each round's fit with ``(round, model, pseudo_labelled)`` (logging, per-round scores).
        scores: the unlabelled answers' NPS scores (one per answer of ``unlabelled``, ``None`` where unknown): an
            organisation's history as weak sentiment labels (:func:`weak_sentiment`), so the model learns how its
            own customers say good and bad; an answer with one joins the training data even when its themes are
            not sure (then without theme labels).

    Returns:
        ``(model, info)``: the model trained on labelled + pseudo-labelled answers (the first model when no
        unlabelled answer was sure enough), and ``{"unlabelled", "pseudo_labelled", "pseudo_themes"}`` of the last
        round, plus ``"pseudo_labelled_per_round"`` when ``rounds > 1``.

    Raises:
        DataValidationError: bad labelled data (as ``fit``), or no usable unlabelled answer.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if scores is not None and len(scores) != len(unlabelled):
        raise DataValidationError(f"{len(unlabelled)} unlabelled answers but {len(scores)} scores")
    score_of = dict(zip(unlabelled, scores, strict=True)) if scores is not None else {}
    pool = unlabelled_pool(unlabelled, texts)
    if not pool:
        raise DataValidationError("self-training needs unlabelled answers that are not empty and not labelled already; "
                                  f"got {len(unlabelled)} answers and none of them qualifies")
    sentiments = list(sentiment) if sentiment is not None else [None] * len(texts)
    classifier.fit(list(texts), list(themes), sentiment=sentiments, groups=groups)
    model: FeedbackClassifier = classifier
    info: dict[str, Any] = {"unlabelled": len(pool), "pseudo_labelled": 0, "pseudo_themes": {}}
    per_round: list[int] = []
    for _ in range(rounds):
        indices, pseudo = pseudo_label(model, pool, margin=margin)
        weak: dict[int, str] = {}
        if score_of:
            results = model.predict(pool)
            weak = {i: w for i, r in enumerate(results) if (w := weak_sentiment(r, score_of.get(pool[i]))) is not None}
        sure = dict(zip(indices, pseudo, strict=True))
        kept = sorted(set(sure) | set(weak))
        per_round.append(len(kept))
        if not kept:  # nothing sure enough: the latest model stays, described by the round that made it
            break
        info.update(pseudo_labelled=len(kept), pseudo_themes=dict(Counter(t for p in pseudo for t in p).most_common()),
                    **({"weak_sentiment": dict(Counter(weak.values()))} if score_of else {}))
        model = FeedbackClassifier(**classifier.get_params(), taxonomy=classifier.taxonomy,
                                   show_progress_bar=classifier.show_progress_bar, cache_dir=classifier.cache_dir,
                                   device=classifier.device)
        model.fit(list(texts) + [pool[i] for i in kept], list(themes) + [sure.get(i) for i in kept],
                  sentiment=sentiments + [weak.get(i) for i in kept],
                  groups=None if groups is None else [*groups, *(f"~unlabelled-{i}" for i in kept)])
        if on_round is not None:
            on_round(len(per_round), model, len(indices))
    if rounds > 1:
        info["pseudo_labelled_per_round"] = per_round
    return model, info

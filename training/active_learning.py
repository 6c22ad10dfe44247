"""Active learning: which unlabelled answers should an analyst label next?

>>> from nps_nlp import FeedbackClassifier
>>> from training.active_learning import suggest
>>> clf = FeedbackClassifier.load("models/default")                     # doctest: +SKIP
>>> picks = suggest(clf, texts, n=50)                                  # doctest: +SKIP
>>> picks[0].reason                                                    # doctest: +SKIP
"theme 'billing_payment' p=0.24 at threshold 0.23; sentiment unsure (negative 0.44, neutral 0.39)"

An answer is worth labelling when the model is unsure about it (a theme probability close to that
theme's decision threshold, or an overall sentiment split between classes) *and* it is unlike the
answers already picked (labelling ten near-copies of one confusing answer teaches the model little).
:func:`suggest` therefore scores every answer by uncertainty, keeps a pool of the most uncertain ones,
and picks from that pool greedily by uncertainty times distance to the picks so far (a max-min
diversity rule on the e5 sentence vectors), taking turns between languages so every language gets its
share of the labelling effort.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nps_nlp import FeedbackClassifier
from nps_nlp._network import POLARITIES
from nps_nlp.errors import DataValidationError
from nps_nlp.language import SUPPORTED, LanguageDetector

__all__ = ["ModelOutputs", "Suggestion", "model_outputs", "suggest", "theme_uncertainty", "sentiment_uncertainty"]


@dataclass
class ModelOutputs:
    """What one pass of a classifier over answers gives the analyst tools.

    Attributes:
        langs: detected language per answer.
        proba: theme probabilities ``[n, len(labels)]`` (columns in the order of ``labels``).
        sentiment: overall sentiment probabilities ``[n, 3]`` (negative, neutral, positive).
        embeddings: L2-normalised sentence vectors ``[n, dim]`` (mean-pooled encoder states, i.e. the e5
            ``query:`` embedding of the answer).
        labels: theme ids of the probability columns.
        thresholds: the model's decision threshold per theme.
    """

    langs: list[str]
    proba: np.ndarray
    sentiment: np.ndarray
    embeddings: np.ndarray
    labels: list[str]
    thresholds: dict[str, float]


def model_outputs(model: FeedbackClassifier, texts: Sequence[str], *, langs: Sequence[str | None] | None = None,
                  chunk_size: int = 256, show_progress_bar: bool = False) -> ModelOutputs:
    """Run a trained classifier once over ``texts`` and keep theme/sentiment probabilities and sentence vectors.

    One encoder pass serves both: the classifier's token states are mean-pooled into the sentence vector,
    which is exactly what the sentence-transformers encoder computes, so nothing is encoded twice.

    Args:
        model: a trained (or loaded) :class:`FeedbackClassifier`.
        texts: the answers.
        langs: language hints, one per answer (``None`` entries are detected).
        chunk_size: answers per pass (bounds the memory held by token states).
        show_progress_bar: a progress bar on stderr.

    Returns:
        :class:`ModelOutputs`.
    """
    model.check_fitted()
    texts = ["" if t is None else str(t) for t in texts]
    hints: list[str | None] = list(langs) if langs is not None else [None] * len(texts)
    if len(hints) != len(texts):
        raise DataValidationError(f"expected one language hint per answer ({len(texts)}), found {len(hints)}")
    detected = [r.lang for r in LanguageDetector().detect_many(texts, hints)]
    n_labels = len(model.labels_)
    proba, sentiment = np.zeros((len(texts), n_labels)), np.zeros((len(texts), 3))
    vectors = []
    starts = range(0, len(texts), chunk_size)
    bar = None
    if show_progress_bar and len(texts) > chunk_size:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="scoring answers", unit="answer", file=sys.stderr)
    for start in starts:
        chunk = texts[start : start + chunk_size]
        out = model.head_outputs(chunk, langs=detected[start : start + chunk_size])
        proba[start : start + len(chunk)] = out.detect
        sentiment[start : start + len(chunk)] = out.sentiment
        vectors.append(out.sentence_vectors())
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    embeddings = np.concatenate(vectors) if vectors else np.zeros((0, model.dim), dtype=np.float32)
    return ModelOutputs(detected, proba, sentiment, embeddings, list(model.labels_), dict(model.thresholds_))


def theme_uncertainty(proba: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Per-answer, per-theme uncertainty in [0, 1]: the binary entropy of the probability after rescaling
    it so that the theme's threshold sits at 0.5 (a probability at the threshold is a coin flip).

    Args:
        proba: ``[n, k]`` theme probabilities.
        thresholds: the k decision thresholds.

    Returns:
        ``[n, k]`` entropies in bits.
    """
    t = np.clip(np.asarray(thresholds, dtype=float), 1e-3, 1 - 1e-3)[None, :]
    p = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    q = np.where(p < t, 0.5 * p / t, 0.5 + 0.5 * (p - t) / (1 - t))
    q = np.clip(q, 1e-9, 1 - 1e-9)
    return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))


def sentiment_uncertainty(proba: np.ndarray) -> np.ndarray:
    """Normalised entropy (0 = certain, 1 = uniform) of overall sentiment probabilities ``[n, 3]``."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    return -(p * np.log(p)).sum(1) / math.log(p.shape[1])


@dataclass
class Suggestion:
    """One answer picked for labelling.

    Attributes:
        rank: 1 = label this first.
        row: 0-based position of the answer in the input.
        id: the input's id for the answer.
        text: the answer.
        lang: detected (or given) language.
        uncertainty: combined score in [0, 1] the pick was ranked by.
        theme_uncertainty: the largest per-theme uncertainty.
        sentiment_uncertainty: normalised entropy of the overall sentiment.
        distance: cosine distance to the nearest earlier pick (1.0 for the first pick of the run).
        themes: pre-labels: the model's themes with their polarity (``{theme: polarity}``).
        sentiment: the model's overall sentiment (pre-label).
        reason: why it was picked, in words.
    """

    rank: int
    row: int
    id: str
    text: str
    lang: str
    uncertainty: float
    theme_uncertainty: float
    sentiment_uncertainty: float
    distance: float
    themes: dict[str, str] = field(default_factory=dict)
    sentiment: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``themes`` stays a dict."""
        return asdict(self)


def _reason(k: int, out: ModelOutputs, theme_u: np.ndarray, sent_u: np.ndarray, distance: float | None) -> str:
    parts: list[str] = []
    order = np.argsort(-theme_u[k])
    for j in order[:2]:
        if theme_u[k, j] < 0.5 and parts:
            break
        label = out.labels[j]
        parts.append(f"theme {label!r} p={out.proba[k, j]:.2f} vs threshold {out.thresholds.get(label, 0.5):.2f}")
    if sent_u[k] >= 0.75:
        top = np.argsort(-out.sentiment[k])[:2]
        parts.append("sentiment unsure (" + ", ".join(f"{POLARITIES[c]} {out.sentiment[k, c]:.2f}" for c in top) + ")")
    if distance is not None:
        parts.append(f"unlike earlier picks (cosine distance {distance:.2f})")
    return "; ".join(parts)


def suggest(
    model: FeedbackClassifier,
    texts: Sequence[str],
    *,
    n: int = 50,
    ids: Sequence[str] | None = None,
    langs: Sequence[str | None] | None = None,
    sentiment_weight: float = 0.3,
    pool_factor: int = 5,
    languages: Sequence[str] = SUPPORTED,
    balance_languages: bool = True,
    outputs: ModelOutputs | None = None,
    show_progress_bar: bool = False,
) -> list[Suggestion]:
    """Pick the ``n`` answers most worth labelling next: uncertain, diverse, balanced over languages.

    1. Uncertainty per answer: ``(1 - w) * max_theme_entropy + w * sentiment_entropy`` with
       ``w = sentiment_weight`` (see :func:`theme_uncertainty`, :func:`sentiment_uncertainty`).
    2. Pool: the ``pool_factor * n`` most uncertain answers in ``languages`` (empty, too-short and
       other-language answers cannot be labelled for this model and are skipped; exact duplicates count once).
    3. Greedy picks: languages take turns (each gets ``n / #languages`` picks, a language with too few
       candidates passes its turn on); in its turn a language picks the pooled answer that maximises
       ``uncertainty * distance to the nearest pick so far`` (cosine distance of the sentence vectors).

    Args:
        model: a trained :class:`FeedbackClassifier` (its probabilities, thresholds and encoder are used).
        texts: unlabelled answers.
        n: how many to pick.
        ids: ids for the answers (default: the 0-based row number as a string).
        langs: language hints per answer (e.g. a ``lang`` column); ``None`` detects them.
        sentiment_weight: weight of overall-sentiment uncertainty, 0..1.
        pool_factor: size of the uncertain pool as a multiple of ``n`` (1 = uncertainty only).
        languages: languages to pick from.
        balance_languages: take turns between languages; ``False`` picks by score alone.
        outputs: precomputed :func:`model_outputs` for ``texts`` (skips the encoder pass).
        show_progress_bar: progress bar while scoring.

    Returns:
        The picks, most valuable first, with pre-labels from ``model.predict`` and a reason each.

    Raises:
        DataValidationError: ``n < 1``, bad weights, or ids/hints of the wrong length.
    """
    texts = ["" if t is None else str(t) for t in texts]
    ids = _checked_ids(texts, ids, n, sentiment_weight, pool_factor)
    out = outputs or model_outputs(model, texts, langs=langs, show_progress_bar=show_progress_bar)
    if len(out.langs) != len(texts):
        raise DataValidationError(f"outputs cover {len(out.langs)} answers, expected {len(texts)}")
    thresholds = [out.thresholds.get(label, 0.5) for label in out.labels]
    theme_u = theme_uncertainty(out.proba, thresholds) if out.labels else np.zeros((len(texts), 1))
    sent_u = sentiment_uncertainty(out.sentiment) if len(texts) else np.zeros(0)
    t_u = theme_u.max(1) if len(texts) else np.zeros(0)
    score = (1 - sentiment_weight) * t_u + sentiment_weight * sent_u
    pool = _pool(texts, out.langs, score, languages)[: pool_factor * n]
    picked, distance_at_pick = _pick(pool, out, score, n, balance_languages)

    results = model.predict([texts[i] for i in picked], lang=[out.langs[i] for i in picked]) if picked else []
    suggestions = []
    for rank, (i, dist, result) in enumerate(zip(picked, distance_at_pick, results, strict=True), 1):
        suggestions.append(Suggestion(
            rank=rank, row=i, id=ids[i], text=texts[i], lang=out.langs[i], uncertainty=round(float(score[i]), 4),
            theme_uncertainty=round(float(t_u[i]), 4), sentiment_uncertainty=round(float(sent_u[i]), 4),
            distance=round(dist, 4), themes={t.theme: t.sentiment for t in result.themes},
            sentiment=result.sentiment, reason=_reason(i, out, theme_u, sent_u, dist if rank > 1 else None),
        ))
    return suggestions


def _checked_ids(texts: list[str], ids: Sequence[str] | None, n: int, sentiment_weight: float,
                 pool_factor: int) -> list[str]:
    """The answers' ids (default: row numbers), after checking :func:`suggest`'s options.

    Raises:
        DataValidationError: ``n < 1``, a weight outside [0, 1], ``pool_factor < 1`` or one id too many or few.
    """
    if n < 1:
        raise DataValidationError(f"n must be at least 1, found {n}")
    if not 0.0 <= sentiment_weight <= 1.0:
        raise DataValidationError(f"sentiment_weight must be in [0, 1], found {sentiment_weight}")
    if pool_factor < 1:
        raise DataValidationError(f"pool_factor must be at least 1, found {pool_factor}")
    checked = [str(i) for i in range(len(texts))] if ids is None else [str(i) for i in ids]
    if len(checked) != len(texts):
        raise DataValidationError(f"expected one id per answer ({len(texts)}), found {len(checked)}")
    return checked


def _pool(texts: list[str], langs: Sequence[str], score: np.ndarray, languages: Sequence[str]) -> list[int]:
    """The answers by falling uncertainty, without other languages, empty answers and repeats of a text."""
    seen_text: set[str] = set()
    candidates = []
    for i in np.argsort(-score, kind="stable"):
        key = " ".join(texts[i].lower().split())
        if langs[i] not in languages or not key or key in seen_text:
            continue
        seen_text.add(key)
        candidates.append(int(i))
    return candidates


def _pick(pool: list[int], out: ModelOutputs, score: np.ndarray, n: int,
          balance_languages: bool) -> tuple[list[int], list[float]]:
    """Greedy picks from the pool, languages taking turns: each turn takes the answer with the largest
    ``uncertainty * distance to the nearest pick so far``. Returns the picks and each one's distance."""
    by_lang: dict[str, list[int]] = {}
    for i in pool:
        by_lang.setdefault(out.langs[i] if balance_languages else "all", []).append(i)
    turn_order = sorted(by_lang, key=lambda lang: -len(by_lang[lang]))
    picked: list[int] = []
    distance_at_pick: list[float] = []
    nearest = np.full(len(score), 2.0)  # cosine distance to the nearest pick (2 = none yet)
    while len(picked) < min(n, len(pool)):
        for lang in turn_order:
            if len(picked) >= min(n, len(pool)):
                break
            options = [i for i in by_lang[lang] if nearest[i] > 1e-6]
            if not options:
                continue
            gain = score[options] * np.minimum(nearest[options], 1.0)
            best = options[int(np.argmax(gain))]
            picked.append(best)
            distance_at_pick.append(float(min(nearest[best], 1.0)))
            by_lang[lang].remove(best)
            nearest = np.minimum(nearest, 1.0 - out.embeddings @ out.embeddings[best])
        if all(not by_lang[lang] for lang in turn_order):
            break
    return picked, distance_at_pick

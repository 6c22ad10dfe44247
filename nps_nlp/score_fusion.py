"""Score-aware readings: the answer's NPS score read together with its text.

The text model gives, for every answer, probabilities of a negative, neutral or positive overall tone and, for
every theme it reports, of a negative, neutral or positive polarity. A survey answer also carries its 0-10 score,
the strongest single signal of what the customer meant: "Great, another outage" with a 1 is a complaint, while
"Perfect, as always!" with a 10 is praise. :class:`ScoreFusion` is a calibrated combination of the two: two
multinomial logistic regressions (scikit-learn) over the text model's log-probabilities, the score and their
interactions, fitted on answers the text model did not train on (a held-out calibration split), so their output
is a probability again. Without a score the text model's probabilities are used unchanged.

:func:`reconcile` then keeps the overall sentiment and the themes' polarities from contradicting each other
(every theme positive and the answer negative, or the reverse) unless both readings are confident.

Example:
    >>> fusion = ScoreFusion().fit(overall_proba, scores, overall_labels,           # doctest: +SKIP
    ...                            theme_proba, theme_overall, theme_scores, theme_labels)
    >>> fusion.overall(np.array([[0.1, 0.2, 0.7]]), [1.0])                          # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_nlp._logistic import Logistic
from nps_nlp._results import FeedbackResult
from nps_nlp.errors import DataValidationError

__all__ = ["ScoreFusion", "check_scores", "contradicts", "final_readings", "mention_context", "reconcile"]

POLARITIES = ("negative", "neutral", "positive")
_EPS = 1e-4
#: readings at or above this probability are "confident": only two confident readings may contradict
CONFIDENT = 0.9


#: words that turn a sentence from one side to the other ("great staff but ...", "only wish it was cheaper"):
#: in an answer that has them, the score speaks less for each single theme
_CONTRAST = re.compile(
    r"\b(?:but|though|however|only|except|wish|would like|apart from|shame|"          # en
    r"maar|alleen|jammer|behalve|helaas|toch|"                                        # nl
    r"men|bare|unntatt|dessverre|skulle ønske|synd|derimot|likevel|"                  # nb
    r"berre|diverre|skulle ynskje|elles)\b", re.IGNORECASE)


def mention_context(texts: Sequence[str], theme_counts: Sequence[int]) -> np.ndarray:
    """``[m, 2]`` per theme mention (answers in order, ``theme_counts[i]`` mentions of answer i): whether its
    answer names several themes and whether it has a contrast word. Both tell the polarity model that the
    answer's score may be about another theme than this one."""
    rows = [(float(count > 1), float(bool(_CONTRAST.search(text))))
            for text, count in zip(texts, theme_counts, strict=True) for _ in range(count)]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0))


def _score_features(scores: np.ndarray) -> np.ndarray:
    """Per answer: the centred score and its NPS band (detractor 0-6, passive 7-8, promoter 9-10)."""
    z = (scores - 5.0) / 5.0
    return np.stack([z, z * z, scores <= 6, (scores > 6) & (scores < 9), scores >= 9], 1).astype(np.float64)


def _features(text_proba: np.ndarray, scores: np.ndarray, context: np.ndarray | None = None,
              mentions: np.ndarray | None = None) -> np.ndarray:
    """Log-probabilities of the text reading (and of the answer's overall tone, for a theme), the score's
    features and the products of the text's lean (log P(positive) - log P(negative)) with each score feature;
    for a theme, optionally its :func:`mention_context` and their products with the score and the lean."""
    logp = _log(text_proba)
    lean = (logp[:, 2] - logp[:, 0])[:, None]
    band = _score_features(scores)
    parts = [logp, band, lean * band]
    if context is not None:
        ctx = _log(context)
        parts += [ctx, (ctx[:, 2] - ctx[:, 0])[:, None] * band]
    if mentions is not None:
        for k in range(mentions.shape[1]):
            flag = mentions[:, k:k + 1]
            parts += [flag, flag * band, flag * lean]
    return np.concatenate(parts, 1)


class ScoreFusion:
    """Overall sentiment and theme polarity from the text model's probabilities and the NPS score.

    Args:
        C: inverse regularisation strength of both logistic regressions.
        min_examples: the fewest answers with a score (and with a theme, for the polarity model) ``fit`` accepts.
    """

    def __init__(self, C: float = 1.0, min_examples: int = 30) -> None:
        self.C = C
        self.min_examples = min_examples

    def fit(self, overall_proba: np.ndarray, scores: Sequence[float], overall_labels: Sequence[str],
            theme_proba: np.ndarray, theme_overall: np.ndarray, theme_scores: Sequence[float],
            theme_labels: Sequence[str], theme_mentions: np.ndarray | None = None) -> ScoreFusion:
        """Fit both combinations on held-out answers.

        Args:
            overall_proba: ``[n, 3]`` the text model's overall probabilities (negative, neutral, positive).
            scores: the n answers' 0-10 scores.
            overall_labels: their gold overall sentiment.
            theme_proba: ``[m, 3]`` the text model's polarity probabilities of m (answer, gold theme) pairs.
            theme_overall: ``[m, 3]`` the overall probabilities of each pair's answer.
            theme_scores: each pair's answer's score.
            theme_labels: each pair's gold polarity.
            theme_mentions: ``[m, 2]`` each pair's :func:`mention_context`; without it the polarity model reads
                the text and the score only (as models saved before it did).

        Raises:
            DataValidationError: too few answers, shapes that differ, a score outside 0-10 or an unknown label.
        """
        x_o, s_o, y_o = self._check(overall_proba, scores, overall_labels, "answers")
        x_t, s_t, y_t = self._check(theme_proba, theme_scores, theme_labels, "theme mentions")
        if np.asarray(theme_overall).shape != x_t.shape:
            raise DataValidationError(f"theme_overall has shape {np.asarray(theme_overall).shape}, expected {x_t.shape}")
        self.overall_ = Logistic.fit(_features(x_o, s_o), y_o, self.C)
        mentions = None if theme_mentions is None else np.asarray(theme_mentions, dtype=np.float64).reshape(len(y_t), -1)
        self.polarity_ = Logistic.fit(_features(x_t, s_t, np.asarray(theme_overall), mentions), y_t, self.C)
        self.uses_mentions_ = mentions is not None
        self.n_answers_, self.n_mentions_ = len(y_o), len(y_t)
        return self

    def _check(self, proba: Any, scores: Any, labels: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        proba, scores = np.asarray(proba, dtype=np.float64), np.asarray(scores, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[1] != 3 or len(scores) != len(proba) or len(labels) != len(proba):
            raise DataValidationError(f"score fusion: {what}: expected [n, 3] probabilities with n scores and n labels, "
                                      f"got {proba.shape}, {len(scores)} scores, {len(labels)} labels")
        if len(proba) < self.min_examples:
            raise DataValidationError(f"score fusion: {len(proba)} {what} with a score; it needs at least "
                                      f"{self.min_examples} held-out answers with scores and sentiment labels")
        if np.isnan(scores).any() or (scores < 0).any() or (scores > 10).any():
            raise DataValidationError("score fusion: every score must be a number 0-10")
        unknown = sorted(set(labels) - set(POLARITIES))
        if unknown:
            raise DataValidationError(f"score fusion: unknown sentiment labels {unknown}; expected {list(POLARITIES)}")
        return proba, scores, np.array([POLARITIES.index(label) for label in labels])

    def overall(self, text_proba: np.ndarray, scores: Sequence[float | None]) -> np.ndarray:
        """``[n, 3]`` overall probabilities: fused where a score is given, the text's own where not."""
        return self._apply(self.overall_, np.asarray(text_proba, dtype=np.float64), scores, None)

    def polarity(self, text_proba: np.ndarray, overall_text: np.ndarray, scores: Sequence[float | None],
                 mentions: np.ndarray | None = None) -> np.ndarray:
        """``[m, 3]`` polarity probabilities of m theme mentions (``overall_text``: their answers' text-only
        overall probabilities; ``mentions``: their :func:`mention_context`, needed when the model was fitted
        with it): fused where a score is given, the text's own where not."""
        if self.uses_mentions_ and mentions is None:
            raise ValueError("this score fusion was fitted with mention_context: pass mentions")
        used = np.asarray(mentions, dtype=np.float64) if self.uses_mentions_ else None
        return self._apply(self.polarity_, np.asarray(text_proba, dtype=np.float64), scores,
                           np.asarray(overall_text, dtype=np.float64), used)

    @staticmethod
    def _apply(model: Logistic, proba: np.ndarray, scores: Sequence[float | None], context: np.ndarray | None,
               mentions: np.ndarray | None = None) -> np.ndarray:
        out = proba.copy()
        known = np.array([s is not None for s in scores], dtype=bool)
        if known.any():
            s = np.array([float(v) for v in scores if v is not None])
            out[known] = model.proba(_features(proba[known], s, None if context is None else context[known],
                                               None if mentions is None else mentions[known]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (saved as ``score_fusion.json`` in a model directory)."""
        return {"C": self.C, "n_answers": self.n_answers_, "n_mentions": self.n_mentions_,
                "overall": self.overall_.to_dict(), "polarity": self.polarity_.to_dict(),
                "mention_context": self.uses_mentions_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreFusion:
        fusion = cls(C=float(data.get("C", 1.0)))
        fusion.overall_ = Logistic.from_dict(data["overall"])
        fusion.polarity_ = Logistic.from_dict(data["polarity"])
        fusion.uses_mentions_ = bool(data.get("mention_context", False))
        fusion.n_answers_, fusion.n_mentions_ = int(data.get("n_answers", 0)), int(data.get("n_mentions", 0))
        return fusion

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_answers_} answers" if hasattr(self, "overall_") else ""
        return f"ScoreFusion(C={self.C}{fitted})"


def reconcile(overall: np.ndarray, themes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overall and theme probabilities that do not contradict each other.

    A contradiction is an answer whose themes are all positive while the answer is negative, or the reverse.
    It stands only when both readings are confident (:data:`CONFIDENT`); otherwise the less confident side
    takes the other side's reading: the overall probabilities become the themes' mean, or each contradicting
    theme's become the overall ones.

    Args:
        overall: ``[3]`` the answer's overall probabilities.
        themes: ``[k, 3]`` its themes' polarity probabilities (k may be 0).

    Returns:
        ``(overall, themes)``, new arrays.
    """
    overall, themes = np.array(overall, dtype=np.float64), np.array(themes, dtype=np.float64).reshape(-1, 3)
    if not len(themes):
        return overall, themes
    o, t = int(overall.argmax()), themes.argmax(1)
    if o == 1 or not (t == 2 - o).all():
        return overall, themes
    c_overall, c_themes = float(overall[o]), float(themes.max(1).mean())
    if min(c_overall, c_themes) >= CONFIDENT:
        return overall, themes
    if c_themes >= c_overall:
        return themes.mean(0), themes
    return overall, np.repeat(overall[None], len(themes), 0)


def contradicts(result: FeedbackResult) -> bool:
    """The overall sentiment is the opposite of every theme's polarity (all positive and negative overall, or the
    reverse): what :func:`reconcile` prevents unless both readings are confident."""
    opposite = {"positive": "negative", "negative": "positive"}.get(result.sentiment)
    return bool(result.themes) and opposite is not None and all(t.sentiment == opposite for t in result.themes)


def check_scores(scores: Any, n: int, single: bool) -> list[float | None]:
    """One 0-10 score or ``None`` per answer, from one score or a sequence of them.

    Raises:
        DataValidationError: the count differs from ``n`` or a score is not a number 0-10 (with positions).
    """
    if scores is None:
        return [None] * n
    per_answer = [scores] if single or isinstance(scores, int | float) else list(scores)
    if len(per_answer) != n:
        raise DataValidationError(f"{n} texts but {len(per_answer)} scores")
    bad = [f"item {i}: score {s!r:.20} is outside 0-10 or not a number" for i, s in enumerate(per_answer)
           if s is not None and (isinstance(s, bool) or not isinstance(s, int | float) or not 0 <= s <= 10)]
    if bad:
        raise DataValidationError("scores must be numbers 0-10", bad)
    return [None if s is None else float(s) for s in per_answer]


def final_readings(readings: Sequence[tuple[FeedbackResult, np.ndarray, Sequence[np.ndarray]]],
                   scores: Sequence[float | None], fusion: ScoreFusion | None) -> list[FeedbackResult]:
    """Set each result's overall sentiment and theme polarities from its text probabilities, fused with its score
    (when ``fusion`` is given and so is a score) and reconciled (:func:`reconcile`); themes most confident first.

    Args:
        readings: per answer, its text-only result, overall probabilities ``[3]`` and one ``[3]`` polarity
            probability per theme of the result, in the result's theme order.
        scores: one 0-10 score or ``None`` per answer.
        fusion: a fitted :class:`ScoreFusion`, or ``None`` to read the text alone.
    """
    overall = np.array([r[1] for r in readings], dtype=np.float64).reshape(-1, 3)
    themes = [np.array(r[2], dtype=np.float64).reshape(-1, 3) for r in readings]
    use = [s if fusion is not None and r[0].text.strip() else None for r, s in zip(readings, scores, strict=True)]
    if fusion is not None and any(s is not None for s in use):
        counts = [len(t) for t in themes]
        context = np.repeat(overall, counts, 0)
        flat = np.concatenate(themes)
        mentions = mention_context([r[0].text for r in readings], counts)
        fused = fusion.polarity(flat, context, [s for s, c in zip(use, counts, strict=True) for _ in range(c)], mentions)
        themes = np.split(fused, np.cumsum(counts)[:-1])
        overall = fusion.overall(overall, use)
    results = []
    for (result, _, _), o, t in zip(readings, overall, themes, strict=True):
        if result.text.strip():
            o, t = reconcile(o, t)
            result.sentiment, result.sentiment_score = POLARITIES[int(o.argmax())], round(float(o[2] - o[0]), 4)
            for theme, p in zip(result.themes, t, strict=True):
                theme.sentiment, theme.sentiment_score = POLARITIES[int(p.argmax())], round(float(p[2] - p[0]), 4)
        result.themes.sort(key=lambda th: -th.confidence)
        results.append(result)
    return results

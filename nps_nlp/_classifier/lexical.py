"""The character/word n-gram theme model (:class:`nps_nlp._lexical.LexicalThemeModel`) beside the head: fitted
on the same answers, blended into the theme probabilities of answers in the languages it was trained on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_nlp.language import SUPPORTED

__all__ = ["blend", "fit_lexical"]


def fit_lexical(texts: list[str], detect: np.ndarray, has_themes: np.ndarray, idx: np.ndarray, langs: list[str], *,
                weight: float, labels: list[str], random_state: int) -> tuple[Any, list[str]]:
    """The n-gram model fitted on the answers ``idx`` that have theme labels, and the languages it has seen
    enough of (5 answers and 5% of them); ``(None, [])`` when ``weight`` is 0, there are no themes or fewer than
    10 such answers.

    Args:
        texts: all training answers; ``langs`` their detected languages.
        detect: ``[n, k]`` 0/1 gold themes; ``has_themes``: ``[n]`` whether the answer has theme labels.
        idx: the answers to fit on.
        weight: the classifier's ``lexical_weight``.
        labels: the trained themes.
        random_state: the model's seed.
    """
    rows = idx[has_themes[idx]]
    if weight <= 0 or not labels or len(rows) < 10:
        return None, []
    from nps_nlp._lexical import LexicalThemeModel

    model = LexicalThemeModel(random_state=random_state).fit([texts[i] for i in rows], detect[rows])
    # n-grams do not transfer across languages: remember which ones the lexical model has seen
    counts = Counter(langs[i] for i in rows)
    return model, sorted(lang for lang, c in counts.items() if lang in SUPPORTED and c >= max(5, 0.05 * len(rows)))


def blend(proba: np.ndarray, texts: Sequence[str], langs: Sequence[str], model: Any, languages: Sequence[str],
          weight: float) -> np.ndarray:
    """``(1 - w) * proba + w * n-gram probabilities``, with ``w = weight`` for answers in a language the n-gram model
    has seen (or not one nps-nlp detects) and 0 for the others; ``proba`` unchanged without a model."""
    if model is None or not len(proba):
        return proba
    seen = set(languages)
    w = np.array([weight if lang in seen or lang not in SUPPORTED else 0.0 for lang in langs])[:, None]
    return (1 - w) * proba + w * model.predict_proba(texts)

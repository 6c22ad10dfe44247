"""What the learned urgency readings share: the levels they tell apart, the NPS score bands they read, and how
they choose a threshold for a wanted precision (:mod:`nps_nlp.urgency_model`, :mod:`nps_nlp.urgency_fusion`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nps_nlp.errors import DataValidationError

URGENCY_CLASSES = ("none", "high", "critical")
"""The levels the learned readings tell apart (``low`` and ``medium`` count as ``none``: they raise no alert)."""


def class_of(level: str) -> int:
    """The index in :data:`URGENCY_CLASSES` of an urgency level (``low`` and ``medium``: ``none``)."""
    level = {"low": "none", "medium": "none"}.get(level, level)
    if level not in URGENCY_CLASSES:
        raise DataValidationError(f"unknown urgency level {level!r}; expected one of none, low, medium, high, critical")
    return URGENCY_CLASSES.index(level)


def score_bands(scores: Sequence[float | None] | None, n: int) -> np.ndarray:
    """``[n, 4]`` one-hot NPS score bands 0-3, 4-6, 7-8, 9-10 (all zero for an answer without a score)."""
    out = np.zeros((n, 4))
    for i, s in enumerate(scores if scores is not None else [None] * n):
        if s is not None:
            out[i, 0 if s <= 3 else 1 if s <= 6 else 2 if s <= 8 else 3] = 1.0
    return out


def precision_threshold(p: np.ndarray, gold: np.ndarray, precision: float, lowest: float = 0.30,
                        min_hits: int = 3) -> float:
    """The lowest threshold from ``lowest`` up (in steps of 0.01) whose calls (``p >= t``) reach ``precision``
    with at least ``min_hits`` right ones; 1.01 (never call) when none does."""
    for t in np.round(np.arange(lowest, 0.99, 0.01), 2):
        called = p >= t
        hits = int((called & gold).sum())
        if hits >= min_hits and hits / max(1, int(called.sum())) >= precision:
            return float(t)
    return 1.01

"""Decision thresholds of the trained themes, tuned for F1 on held-out (or out-of-fold) probabilities."""

from __future__ import annotations

import numpy as np

__all__ = ["tune_thresholds"]

GRID = np.round(np.arange(0.1, 0.91, 0.05), 2)


def _f1(p: np.ndarray, g: np.ndarray, t: float) -> float:
    pred = p >= t
    return 2 * (pred & g).sum() / max(1, pred.sum() + g.sum())


def tune_thresholds(labels: list[str], proba: np.ndarray | None, gold: np.ndarray, has: np.ndarray,
                    per_theme: bool = True) -> dict[str, float]:
    """A threshold per theme: one global threshold (best micro-F1 on the grid 0.10, 0.15, ..., 0.90), and with
    ``per_theme`` each theme with at least 5 held-out positives gets the mean of its own best and the global one.

    Args:
        labels: the trained themes (columns of ``proba`` and ``gold``).
        proba: ``[n, k]`` held-out theme probabilities, or ``None`` (no hold-out: 0.5 everywhere).
        gold: ``[n, k]`` 0/1 gold themes.
        has: ``[n]`` whether each answer has theme labels (the others are not scored).
        per_theme: tune per theme at all (few-shot data keeps the global threshold).
    """
    if proba is None or not labels or not has.any():
        return {label: 0.5 for label in labels}
    proba, gold = proba[has], gold[has] > 0.5
    glob = float(max(GRID, key=lambda t: _f1(proba.ravel(), gold.ravel(), t)))
    out = {}
    for j, label in enumerate(labels):
        if per_theme and gold[:, j].sum() >= 5:
            best = float(max(GRID, key=lambda t: (_f1(proba[:, j], gold[:, j], t), -abs(t - glob))))
            out[label] = round((best + glob) / 2, 3)  # shrink towards the global threshold
        else:
            out[label] = glob
    return out

"""Themes without training examples, matched by the similarity of an answer's clauses to the theme's prototypes
(its multilingual names, descriptions and examples from the taxonomy)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nps_nlp._classifier.evidence import clause_tokens
from nps_nlp._network import POLARITIES
from nps_nlp._results import Evidence, FeedbackResult, ThemeResult
from nps_nlp.taxonomy import Taxonomy
from nps_nlp.text import split_clauses

__all__ = ["DEFAULT_THRESHOLD", "add_zero_shot", "clause_vectors", "fit_zero_shot", "prototype_vectors"]

#: The similarity threshold of a model whose trained themes could not calibrate one.
DEFAULT_THRESHOLD = 0.86

States = Callable[[list[str]], tuple[list, list]]


def prototype_vectors(taxonomy: Taxonomy, theme_ids: list[str], states: States, dim: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``[p, D]`` L2-normalised mean token states of the themes' prototypes, and ``[p]`` the index into
    ``theme_ids`` of each prototype's theme; ``states``: the classifier's token states of texts."""
    texts, owner = [], []
    for j, theme_id in enumerate(theme_ids):
        protos = taxonomy[theme_id].prototypes()
        texts += protos
        owner += [j] * len(protos)
    encoded, _ = states(texts) if texts else ([], [])
    vectors = np.stack([s.mean(0).numpy() for s in encoded]) if encoded else np.zeros((0, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
    return vectors.astype(np.float32), np.array(owner, dtype=np.int64)


def clause_vectors(text: str, lang: str | None, states: Any, offsets: np.ndarray, dim: int
                   ) -> tuple[list[Any], np.ndarray]:
    """The answer's clauses that have tokens, and ``[c, D]`` the L2-normalised mean of each one's token states."""
    clauses = split_clauses(text, lang) or []
    token_states = states.numpy() if hasattr(states, "numpy") else states
    vectors = []
    kept = []
    for clause in clauses:
        sel = clause_tokens(offsets, clause)
        if sel.any():
            v = token_states[sel].mean(0)
            vectors.append(v / max(np.linalg.norm(v), 1e-9))
            kept.append(clause)
    return kept, np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)


def _similarity(texts: list[str], vectors: np.ndarray, owner: np.ndarray, n_themes: int, states: States, dim: int
                ) -> np.ndarray:
    """``[n, n_themes]``: per answer and theme, the best similarity of any clause to any of the theme's prototypes."""
    encoded, offsets = states(texts)
    out = np.zeros((len(texts), n_themes), dtype=np.float32)
    for i, text in enumerate(texts):
        _, clause_vecs = clause_vectors(text, None, encoded[i], offsets[i], dim)
        if len(clause_vecs):
            sim = clause_vecs @ vectors.T  # [clauses, prototypes]
            for j in range(n_themes):
                out[i, j] = sim[:, owner == j].max()
    return out


def fit_zero_shot(taxonomy: Taxonomy, labels: list[str], zero_shot_labels: list[str], texts: list[str],
                  gold: np.ndarray, has: np.ndarray, states: States, dim: int
                  ) -> tuple[float, np.ndarray, np.ndarray]:
    """The similarity threshold and the prototypes of the zero-shot themes.

    The threshold is calibrated on the trained themes that have prototypes: the one (0.750 to 0.945) that matches
    their gold labels on ``texts`` with the best F1; :data:`DEFAULT_THRESHOLD` without such themes.

    Args:
        taxonomy: the model's taxonomy; labels: its trained themes; zero_shot_labels: those to match zero-shot.
        texts: answers to calibrate on; gold: their ``[n, len(labels)]`` 0/1 themes; has: which have theme labels.
        states: the classifier's token states of texts; dim: their size.

    Returns:
        ``(threshold, prototypes [p, D], owner [p])`` (no prototypes without zero-shot themes).
    """
    if not zero_shot_labels:
        return DEFAULT_THRESHOLD, np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64)
    threshold = DEFAULT_THRESHOLD
    known = [label for label in labels if taxonomy[label].prototypes()]
    if known and has.any():
        vectors, owner = prototype_vectors(taxonomy, known, states, dim)
        sims = _similarity(texts, vectors, owner, len(known), states, dim)
        cols = [labels.index(label) for label in known]
        g = gold[has][:, cols] > 0.5
        s = sims[has]
        grid = np.arange(0.75, 0.95, 0.005)
        f1 = [2 * ((s >= t) & g).sum() / max(1, (s >= t).sum() + g.sum()) for t in grid]
        threshold = float(round(grid[int(np.argmax(f1))], 3))
    vectors, owner = prototype_vectors(taxonomy, zero_shot_labels, states, dim)
    return threshold, vectors, owner


def add_zero_shot(result: FeedbackResult, text: str, lang: str | None, states: Any, offsets: np.ndarray,
                  theme_p: list[np.ndarray], *, labels: Sequence[str], prototypes: np.ndarray, owner: np.ndarray,
                  threshold: float, head: Any, dim: int) -> None:
    """Add to ``result`` (and their polarity probabilities to ``theme_p``) the zero-shot themes one of whose
    prototypes some clause of the answer is at least ``threshold`` similar to; the evidence is the most similar
    clause, the polarity the head's sentiment layer on that clause's mean token state, the confidence the
    similarity rescaled to 0.5-1.

    Args:
        result: the answer's reading so far; text, lang: the answer and its language code (or ``None``).
        states, offsets: the answer's token states and their character offsets.
        theme_p: the polarity probabilities of the themes in ``result``, in order.
        labels: the zero-shot themes; prototypes, owner, threshold: from :func:`fit_zero_shot`.
        head: the model's head (its ``sentiment`` layer reads a pooled state); dim: the size of a token state.
    """
    import torch

    clauses, vectors = clause_vectors(text, lang, states, offsets, dim)
    if not len(vectors):
        return
    sim = vectors @ prototypes.T
    for j, label in enumerate(labels):
        per_clause = sim[:, owner == j].max(1)
        k = int(per_clause.argmax())
        if per_clause[k] < threshold:
            continue
        clause = clauses[k]
        sel = clause_tokens(offsets, clause)
        with torch.no_grad():
            pooled = torch.as_tensor(np.asarray(states)[sel].mean(0))
            pol = torch.softmax(head.sentiment(pooled), -1).numpy()
        confidence = 0.5 + 0.5 * (float(per_clause[k]) - threshold) / max(1e-6, 1 - threshold)
        result.themes.append(ThemeResult(label, round(confidence, 4), POLARITIES[int(pol.argmax())],
                                         round(float(pol[2] - pol[0]), 4),
                                         Evidence(clause.text, clause.start, clause.end), source="zero-shot"))
        theme_p.append(np.asarray(pol, dtype=np.float64))

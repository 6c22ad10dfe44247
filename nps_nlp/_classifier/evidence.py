"""Evidence: which clause of an answer a theme was read from, and the clause-level scores behind it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["clause_scores", "clause_tokens"]


def clause_tokens(offsets: np.ndarray, clause: Any) -> np.ndarray:
    """Mask of the real (non-special, non-prompt) tokens whose characters overlap ``clause``."""
    return (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 1] > clause.start) & (offsets[:, 0] < clause.end)


def _clause_states(answers: list[list], states: list, offsets: list, encode: Callable[[list[str]], list] | None
                   ) -> tuple[list[list], list]:
    """Per answer the clauses kept, and the token states of every kept clause in order: cut out of the answer's
    states (``encode`` is ``None``), or each clause encoded as a text of its own."""
    import torch

    if encode is not None:
        kept = [list(clauses) for clauses in answers]
        texts = [clause.text for clauses in kept for clause in clauses]
        return kept, encode(texts) if texts else []
    kept = [[] for _ in answers]
    parts: list[Any] = []
    for a, clauses in enumerate(answers):
        for clause in clauses:
            sel = clause_tokens(offsets[a], clause)
            if sel.any():
                kept[a].append(clause)
                parts.append(states[a][torch.as_tensor(sel)])
    return kept, parts


def clause_scores(answers: list[list], langs: Sequence[str], states: list, offsets: list, *, head: Any, n_labels: int,
                  batch_size: int, blend: Callable[[np.ndarray, list[str], list[str]], np.ndarray],
                  encode: Callable[[list[str]], list] | None = None) -> list[dict[str, Any] | None]:
    """Theme and polarity probabilities of each clause, for the evidence span and the per-theme polarity.

    A clause is read from its own token states: cut out of the answer's encoding (``encode`` is ``None``, no extra
    encoder pass; ``NPS_EVIDENCE=context``), or from an encoding of the clause alone (``encode``: token states
    of texts; ``NPS_EVIDENCE=clauses``). The lexical model is blended into the clause's theme probabilities as into
    the answer's.

    Args:
        answers: per answer its clauses (:func:`nps_nlp.text.split_clauses`).
        langs: per answer its language; states, offsets: per answer its token states and their offsets.
        head: the model's head; n_labels: its trained themes; batch_size: clauses per batch.
        blend: mixes the lexical model into ``(proba, texts, langs)``.
        encode: token states of texts, for reading clauses alone.

    Returns:
        Per answer ``{"clauses": [...], "detect": [c, k], "polarity": [c, k, 3]}`` for its clauses with tokens, or
        ``None`` when none has tokens.
    """
    import torch

    from nps_nlp._network import bucketed_batches, pad_states

    kept, parts = _clause_states(answers, states, offsets, encode)
    if not parts:
        return [None] * len(answers)
    device = next(head.parameters()).device
    detect: list[Any] = [None] * len(parts)
    polarity: list[Any] = [None] * len(parts)
    with torch.no_grad():
        for length, rows in bucketed_batches([len(p) for p in parts], batch_size):
            padded, mask = pad_states([parts[i] for i in rows], length)
            out = head(padded.to(device), mask.to(device))
            for r, i in enumerate(rows):
                detect[i] = torch.sigmoid(out["detect"][r]).cpu().numpy()
                polarity[i] = torch.softmax(out["polarity"][r], -1).cpu().numpy()
    detect_all, polarity_all = np.stack(detect)[:, :n_labels], np.stack(polarity)[:, :n_labels]
    detect_all = blend(detect_all, [c.text for clauses in kept for c in clauses],
                       [lang for clauses, lang in zip(kept, langs, strict=True) for _ in clauses])
    bounds = np.cumsum([len(clauses) for clauses in kept])[:-1]
    return [{"clauses": clauses, "detect": d, "polarity": p} if clauses else None
            for clauses, d, p in zip(kept, np.split(detect_all, bounds), np.split(polarity_all, bounds), strict=True)]

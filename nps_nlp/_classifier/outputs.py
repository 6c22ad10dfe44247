"""What the classifier's head says about a batch of answers, before thresholds, evidence and score fusion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HeadOutputs", "run_head"]


@dataclass
class HeadOutputs:
    """The head's probabilities for ``n`` answers, with the token states they were read from.

    Attributes:
        detect: ``[n, len(labels_)]`` theme probabilities (the lexical model blended in where it applies).
        polarity: ``[n, len(labels_), 3]`` per-theme polarity probabilities (negative, neutral, positive).
        sentiment: ``[n, 3]`` overall sentiment probabilities.
        attention: per answer, the head's attention ``[len(labels_) or more, T_i]`` over its tokens.
        states: per answer, its token states ``[T_i, D]``.
        offsets: per answer, its tokens' character offsets ``[T_i, 2]`` (``None`` for states read from a cache).
        dim: the size ``D`` of a token state.
    """

    detect: np.ndarray
    polarity: np.ndarray
    sentiment: np.ndarray
    attention: list[Any]
    states: list[Any]
    offsets: list[Any] | None
    dim: int

    def sentence_vectors(self) -> np.ndarray:
        """``[n, D]`` float32: each answer's mean token state, L2-normalised (what a mean-pooling
        sentence-transformers encoder returns for it)."""
        import torch

        vectors = []
        for states in self.states:
            vec = torch.as_tensor(states).float().mean(0)
            vectors.append((vec / vec.norm().clamp_min(1e-12)).numpy())
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, self.dim), dtype=np.float32)


def run_head(head: Any, states: Sequence[Any], n_labels: int, batch_size: int, dim: int,
             top: Callable[[Any, Any], Any] | None = None) -> HeadOutputs:
    """Run ``head`` (in eval mode, without gradients) over token states, batched by length.

    Each answer is padded to its own length bucket (:func:`nps_nlp._network.bucketed_batches`), so its reading
    does not depend on the other answers of the call.

    Args:
        head: a :class:`~nps_nlp._network.LabelAttentionHead` or :class:`~nps_nlp._network.HeadEnsemble`.
        states: per answer, its token states ``[T_i, D]``.
        n_labels: the model's trained themes (the head has at least one column).
        batch_size: answers per batch.
        dim: the size of a token state.
        top: run over each padded batch ``(states, mask)`` before the head (the tuned top layers of the encoder
            when ``states`` are the frozen layers' output), or ``None``.

    Returns:
        :class:`HeadOutputs` without offsets and without the lexical model.
    """
    import torch

    from nps_nlp._network import bucketed_batches, pad_states

    head.eval()
    device = next(head.parameters()).device
    states = list(states)
    n = len(states)
    detect: list[Any] = [None] * n
    polarity: list[Any] = [None] * n
    sentiment: list[Any] = [None] * n
    attention: list[Any] = [None] * n
    with torch.no_grad():
        for length, rows in bucketed_batches([len(s) for s in states], batch_size):
            padded, mask = pad_states([states[i] for i in rows], length)
            padded, mask = padded.to(device), mask.to(device)
            if top is not None:
                padded = top(padded, mask)
            out = {k: v.cpu() for k, v in head(padded, mask).items()}
            for r, i in enumerate(rows):
                detect[i] = torch.sigmoid(out["detect"][r]).numpy()
                polarity[i] = torch.softmax(out["polarity"][r], -1).numpy()
                sentiment[i] = torch.softmax(out["sentiment"][r], -1).numpy()
                attention[i] = out["attention"][r, :, : len(states[i])].numpy()
    return HeadOutputs(
        detect=np.stack(detect)[:, :n_labels] if n else np.zeros((0, n_labels)),
        polarity=np.stack(polarity)[:, :n_labels] if n else np.zeros((0, n_labels, 3)),
        sentiment=np.stack(sentiment) if n else np.zeros((0, 3)),
        attention=attention, states=states, offsets=None, dim=dim,
    )

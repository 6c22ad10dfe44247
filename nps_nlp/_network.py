"""The classifier's neural part: a label-attention head on top of a transformer's token states.

For every theme the head learns a query vector that attends over the answer's tokens. The attended
vector (plus the mean-pooled answer) decides whether the theme is present and which polarity it has,
and the attention weights point at the evidence (the clause the theme was read from). A separate linear
layer on the mean-pooled answer gives the overall sentiment.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

POLARITIES = ("negative", "neutral", "positive")


class LabelAttentionHead(nn.Module):
    """Multi-label theme detection + per-theme polarity + overall sentiment.

    Args:
        dim: token-state size of the encoder.
        n_labels: number of themes.
        dropout: dropout on pooled features during training.
    """

    def __init__(self, dim: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dim = dim
        self.n_labels = n_labels
        self.queries = nn.Parameter(torch.randn(n_labels, dim) * 0.02)
        self.detect = nn.Parameter(torch.zeros(n_labels, 2 * dim))
        self.detect_bias = nn.Parameter(torch.full((n_labels,), -2.0))
        self.polarity = nn.Parameter(torch.zeros(n_labels, 2 * dim, len(POLARITIES)))
        self.polarity_bias = nn.Parameter(torch.zeros(n_labels, len(POLARITIES)))
        self.sentiment = nn.Linear(dim, len(POLARITIES))
        self.dropout = nn.Dropout(dropout)
        nn.init.normal_(self.detect, std=0.02)
        nn.init.normal_(self.polarity, std=0.02)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score a padded batch.

        Args:
            states: token states ``[B, T, D]``.
            mask: ``[B, T]``, true for real tokens.

        Returns:
            ``detect`` logits ``[B, L]``, ``polarity`` logits ``[B, L, 3]``, ``sentiment`` logits ``[B, 3]``,
            ``attention`` ``[B, L, T]`` and the mean-pooled ``pooled`` ``[B, D]``.
        """
        maskf = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * maskf).sum(1) / maskf.sum(1).clamp(min=1.0)
        scores = torch.einsum("btd,ld->blt", states, self.queries) / math.sqrt(self.dim)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        attention = torch.softmax(scores, dim=-1)
        attended = torch.einsum("blt,btd->bld", attention, states)
        features = torch.cat([attended, pooled.unsqueeze(1).expand(-1, self.n_labels, -1)], dim=-1)
        features = self.dropout(features)
        detect = (features * self.detect).sum(-1) + self.detect_bias
        polarity = torch.einsum("bld,ldk->blk", features, self.polarity) + self.polarity_bias
        sentiment = self.sentiment(self.dropout(pooled))
        return {"detect": detect, "polarity": polarity, "sentiment": sentiment, "attention": attention,
                "pooled": pooled}


#: sequences are padded to a multiple of this many tokens (see :func:`bucketed_batches`)
BUCKET = 16


def bucket_length(n: int, cap: int | None = None) -> int:
    """``n`` rounded up to a multiple of :data:`BUCKET` (at most ``cap``)."""
    length = -(-max(n, 1) // BUCKET) * BUCKET
    return min(length, cap) if cap else length


def bucketed_batches(lengths: list[int], batch_size: int, cap: int | None = None) -> list[tuple[int, list[int]]]:
    """Batches of indices whose lengths share one bucket, as ``(padded length, indices)``, shortest first.

    Every sequence is padded to its own bucket's length whatever batch it lands in, so its numbers do not depend
    on its neighbours: an answer gets the same reading alone, in any chunk of a file or in any micro-batch
    (with dynamic padding to the longest neighbour, the last digits move and a score on a threshold can flip).
    """
    groups: dict[int, list[int]] = {}
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        groups.setdefault(bucket_length(lengths[i], cap), []).append(i)
    return [(length, idx[start : start + batch_size]) for length, idx in sorted(groups.items())
            for start in range(0, len(idx), batch_size)]


def pad_states(states: list[torch.Tensor], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of ``[T_i, D]`` token-state tensors into ``[B, T, D]`` and a boolean mask (``T``: ``length``,
    default the longest ``T_i``)."""
    lengths = torch.tensor([s.shape[0] for s in states])
    batch = nn.utils.rnn.pad_sequence(states, batch_first=True)
    if length is not None and length > batch.shape[1]:
        batch = nn.functional.pad(batch, (0, 0, 0, length - batch.shape[1]))
    mask = torch.arange(batch.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return batch, mask


class HeadEnsemble(nn.Module):
    """Several :class:`LabelAttentionHead` s over the same token states, averaged.

    The heads are trained on different cross-validation folds (a frozen encoder's states are computed once, so
    each extra head costs a head's training, not an encoder pass). Outputs have the single head's keys and shapes:
    ``detect``, ``polarity`` and ``sentiment`` are the logits of the heads' mean probabilities and ``attention`` is
    the mean attention, so every caller treats an ensemble as one head.
    """

    def __init__(self, heads: list[LabelAttentionHead]) -> None:
        super().__init__()
        if not heads:
            raise ValueError("HeadEnsemble needs at least one head")
        self.heads = nn.ModuleList(heads)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], dim: int, n_labels: int) -> HeadEnsemble:
        """An ensemble with as many heads as ``state`` (a saved ensemble's state dict) holds, with its weights."""
        n = len({key.split(".")[1] for key in state if key.startswith("heads.")})
        ensemble = cls([LabelAttentionHead(dim, n_labels) for _ in range(n)])
        ensemble.load_state_dict(state)
        return ensemble

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Score a padded batch with every head; see :meth:`LabelAttentionHead.forward` for the outputs."""
        outs = [head(states, mask) for head in self.heads]
        detect = torch.stack([torch.sigmoid(o["detect"]) for o in outs]).mean(0).clamp(1e-7, 1 - 1e-7)
        return {"detect": torch.log(detect) - torch.log1p(-detect),
                "polarity": _mean_log_softmax([o["polarity"] for o in outs]),
                "sentiment": _mean_log_softmax([o["sentiment"] for o in outs]),
                "attention": torch.stack([o["attention"] for o in outs]).mean(0),
                "pooled": outs[0]["pooled"]}

    def sentiment(self, pooled: torch.Tensor) -> torch.Tensor:
        """Overall-sentiment logits of pooled states (as :attr:`LabelAttentionHead.sentiment`)."""
        return _mean_log_softmax([cast(LabelAttentionHead, head).sentiment(pooled) for head in self.heads])


def _mean_log_softmax(logits: list[torch.Tensor]) -> torch.Tensor:
    """Log of the mean of the softmax probabilities (logits whose softmax is the heads' mean probability)."""
    return torch.log(torch.stack([torch.softmax(x, -1) for x in logits]).mean(0).clamp(min=1e-12))

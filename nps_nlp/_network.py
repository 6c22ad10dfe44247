"""The classifier's neural part: a label-attention head on top of a transformer's token states.

For every theme the head learns a query vector that attends over the answer's tokens. The attended
vector (plus the mean-pooled answer) decides whether the theme is present and which polarity it has,
and the attention weights point at the evidence (the clause the theme was read from). A separate linear
layer on the mean-pooled answer gives the overall sentiment.
"""

from __future__ import annotations

import math

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


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of ``[T_i, D]`` token-state tensors into ``[B, T, D]`` and a boolean mask."""
    lengths = torch.tensor([s.shape[0] for s in states])
    batch = nn.utils.rnn.pad_sequence(states, batch_first=True)
    mask = torch.arange(batch.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return batch, mask

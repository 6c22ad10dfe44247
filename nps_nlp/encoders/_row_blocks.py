"""Batch-invariant encoder layers: an answer's token states do not depend on the batch it is encoded in.

On some CPUs the matrix product chooses its blocking, and with it the order of its sums, from the number of rows it
multiplies and from where they lie in memory. A token's state then changes in its last bits with the tokens that share
the product, and an answer that sits on a decision threshold (two clauses that name a theme almost equally) reads
differently in another batch. The encoder's widest products, the feed-forward outputs (1536 -> 384 in e5-small), do
this on CPUs we measured; :func:`make_batch_invariant` runs them on blocks of exactly :data:`ROWS` rows (the last block
padded with zeros), so every product has the same shape whatever the batch. The other layers were found row-invariant.
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["ROWS", "blocked_forward", "make_batch_invariant"]

ROWS = 128
"""Rows per product in a blocked layer: large enough to keep a batch's product efficient, small enough that one short
answer (about 20 tokens) pays little for the padding."""


def blocked_forward(self: Any, x: Any) -> Any:
    """``nn.Linear.forward`` on zero-padded blocks of :data:`ROWS` rows (plain while training or exporting a graph)."""
    import torch
    import torch.nn.functional as F

    if self.training or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return F.linear(x, self.weight, self.bias)
    flat = x.reshape(-1, x.shape[-1])
    n = len(flat)
    if n % ROWS:
        flat = torch.cat([flat, flat.new_zeros(ROWS - n % ROWS, flat.shape[-1])])
    out = torch.cat([F.linear(flat[i : i + ROWS], self.weight, self.bias) for i in range(0, len(flat), ROWS)])
    return out[:n].reshape(*x.shape[:-1], out.shape[-1])


def make_batch_invariant(model: Any) -> bool:
    """Run the feed-forward output layers of ``model`` (a BERT-style ``model.encoder.layer``) on row blocks; returns
    whether it found them. The weights and the module tree stay as they are (a graph export or a saved model sees
    the plain layers)."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if not layers or not all(hasattr(getattr(layer, "output", None), "dense") for layer in layers):
        return False
    for layer in layers:
        layer.output.dense.forward = types.MethodType(blocked_forward, layer.output.dense)
    return True
